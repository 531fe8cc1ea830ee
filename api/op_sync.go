package api

import (
	"context"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/kafka"
)

func init() { Register(startSyncExecution{}) }

// startSyncExecution runs an execution in process and answers its result.
// It is on the hot path: the request is read with internal/jsonv and the
// response written by hand, not through encoding/json.
type startSyncExecution struct{}

func (startSyncExecution) Name() string { return "StartSyncExecution" }

// startInput is the request of StartSyncExecution and StartExecution.
type startInput struct {
	StateMachineArn, Name, Input, TraceHeader, IncludedData string
	hasArn, hasName, hasInput, hasTrace, hasIncluded        bool
	// rawInput is the input member's JSON token in the request body (valid
	// while the request is served), echoed as is in the response.
	rawInput []byte
}

// decodeStart reads a StartSyncExecution or StartExecution request.
func decodeStart(body []byte) (*startInput, error) {
	var in startInput
	if len(body) == 0 {
		return &in, requiredArn()
	}
	if !decodeFlat(body, in.set) {
		if err := in.decodeGeneral(body); err != nil {
			return nil, err
		}
	}
	var val validation
	val.required("stateMachineArn", in.hasArn)
	val.length("stateMachineArn", opt(in.StateMachineArn, in.hasArn), 1, 256)
	val.length("name", opt(in.Name, in.hasName), 1, 80)
	val.length("traceHeader", opt(in.TraceHeader, in.hasTrace), 0, 256)
	if in.hasTrace && !ascii(in.TraceHeader) {
		val.add(in.TraceHeader, "traceHeader", `Member must satisfy regular expression pattern: \p{ASCII}*`)
	}
	val.enum("includedData", opt(in.IncludedData, in.hasIncluded), "ALL_DATA", "METADATA_ONLY")
	if err := val.err(); err != nil {
		return nil, err
	}
	return &in, nil
}

// set records one string member of the request.
func (in *startInput) set(name, val string, raw []byte) {
	switch name {
	case "stateMachineArn":
		in.StateMachineArn, in.hasArn = val, true
	case "name":
		in.Name, in.hasName = val, true
	case "input":
		in.Input, in.hasInput, in.rawInput = val, true, raw
	case "traceHeader":
		in.TraceHeader, in.hasTrace = val, true
	case "includedData":
		in.IncludedData, in.hasIncluded = val, true
	}
}

// decodeGeneral reads a request that is not a flat object of strings: a
// member of another type is a SerializationException, other members are
// ignored.
func (in *startInput) decodeGeneral(body []byte) error {
	doc, err := jsonv.Parse(body)
	if err != nil {
		return errSerialization("the request body is not valid JSON: %v", err)
	}
	if !jsonv.IsObject(doc) {
		return errSerialization("the request body is not a JSON object")
	}
	for _, f := range []struct {
		name string
		s    *string
		has  *bool
	}{{"stateMachineArn", &in.StateMachineArn, &in.hasArn}, {"name", &in.Name, &in.hasName}, {"input", &in.Input, &in.hasInput},
		{"traceHeader", &in.TraceHeader, &in.hasTrace}, {"includedData", &in.IncludedData, &in.hasIncluded}} {
		v, ok := jsonv.Member(doc, f.name)
		if !ok || v == nil {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			return errSerialization("Unexpected value type for member %q: want a string, got JSON %s", f.name, jsonv.TypeName(v))
		}
		*f.s, *f.has = s, true
	}
	return nil
}

func requiredArn() error {
	var v validation
	v.required("stateMachineArn", false)
	return v.err()
}

func opt(s string, has bool) *string {
	if !has {
		return nil
	}
	return &s
}

// parseInput checks and parses an execution's input: valid JSON of at
// most MaxPayloadBytes; absent is {}.
func parseInput(in *startInput) (any, int, error) {
	if !in.hasInput {
		return jsonv.NewObject(0), 2, nil
	}
	if len(in.Input) > MaxPayloadBytes {
		return nil, 0, Errorf("InvalidExecutionInput", "Input exceeds the maximum size of %d bytes: %d bytes", MaxPayloadBytes, len(in.Input))
	}
	p := parsers.Get().(*jsonv.Parser)
	v, err := p.Parse([]byte(in.Input))
	parsers.Put(p)
	if err != nil {
		return nil, 0, Errorf("InvalidExecutionInput", "Invalid State Machine Execution Input: '%v'", err)
	}
	return v, len(in.Input), nil
}

// start is a checked StartSyncExecution or StartExecution request.
type start struct {
	m     *stateMachine
	name  string
	input any
	size  int
	// testCase is the mock configuration's test case the ARN names after
	// '#' ("" for none); inv answers its mocked states.
	testCase string
	inv      express.Invoker
}

// prepare checks what StartSyncExecution and StartExecution share: the
// state machine (and a mock configuration's "#TestCaseName"), the name (a
// new UUID when absent) and the input.
func (s *Server) prepare(in *startInput) (*start, error) {
	arn, testCase, mocked := strings.Cut(in.StateMachineArn, "#")
	m, err := s.machine(arn)
	if err != nil {
		return nil, err
	}
	st := &start{m: m, testCase: testCase}
	if mocked {
		if st.inv, err = s.mocked(m, testCase); err != nil {
			return nil, err
		}
	}
	if st.name, st.input, st.size, err = s.prepareInput(in); err != nil {
		return nil, err
	}
	return st, nil
}

// run executes a started execution in process: with the test case's
// mocks, if any, recording its history when the observer samples it.
func (s *Server) run(ctx context.Context, st *start) express.Result {
	xo := express.ExecOptions{Name: st.name, RawOutput: true, InputSize: st.size, Invoker: st.inv}
	if s.o.clock != nil {
		xo.Clock = s.o.clock()
	}
	ob := s.observer(st.m)
	if ob != nil {
		xo.History = ob.Sample()
	}
	res := st.m.wf.Execute(ctx, st.input, xo)
	if ob != nil && (xo.History != nil || res.Status != express.Succeeded) {
		ob.Executed(nil, &res, xo.History)
	}
	return res
}

// observer returns the observer of m's executions, nil when none.
func (s *Server) observer(m *stateMachine) kafka.Observer {
	if s.o.Observer == nil || m.configured {
		// the daemon's own workflows are observed by their processors
		return nil
	}
	return s.o.Observer(m.Name, m.Definition)
}

// mocked returns the invoker of a test case of the mock configuration:
// its mocked states answer from it, the others call the state machine's
// resources, as in Step Functions Local.
func (s *Server) mocked(m *stateMachine, testCase string) (express.Invoker, error) {
	if s.o.MockConfig == nil {
		return nil, errValidation("stateMachineArn names the test case %q, but the server has no mock configuration: start it with --api-mock-config MockConfigFile.json", testCase)
	}
	mocks, err := s.o.MockConfig.TestCase(m.Name, testCase)
	if err != nil {
		return nil, errValidation("%v", err)
	}
	return mocks.Invoker(m.wf.Invoker()), nil
}

// prepareInput checks the name (a new UUID when absent) and the input.
func (s *Server) prepareInput(in *startInput) (string, any, int, error) {
	name := in.Name
	if !in.hasName {
		name = newUUID()
	} else if !validName(name) {
		return "", nil, 0, errInvalidName(name)
	}
	input, size, err := parseInput(in)
	if err != nil {
		return "", nil, 0, err
	}
	return name, input, size, nil
}

func (startSyncExecution) Serve(ctx context.Context, s *Server, body []byte) ([]byte, error) {
	in, err := decodeStart(body)
	if err != nil {
		return nil, err
	}
	st, err := s.prepare(in)
	if err != nil {
		return nil, err
	}
	arn := s.expressExecutionARN(st.m.Name, st.name, newUUID())
	res := s.run(ctx, st)
	s.metrics.syncDone(st.m.Name, string(res.Status), res.Stop.Sub(res.Start))
	if s.o.ExecutionLog != nil {
		s.o.ExecutionLog.LogExecution(st.m.Name, []byte(orEmpty(in.Input)), &res)
	}
	return appendSyncResult(st.m, arn, st.name, &res, in), nil
}

// appendSyncResult writes StartSyncExecutionOutput into a new buffer of
// about its size.
func appendSyncResult(m *stateMachine, arn, name string, res *express.Result, in *startInput) []byte {
	metadataOnly := in.hasIncluded && in.IncludedData == "METADATA_ONLY"
	// the output document first, in scratch space: the answer has it as
	// a JSON string
	var doc []byte
	if res.Status == express.Succeeded && !metadataOnly {
		dp := docs.Get().(*[]byte)
		defer func() {
			if cap(*dp) <= maxPooledBody {
				docs.Put(dp)
			}
		}()
		*dp = jsonv.AppendJSON((*dp)[:0], res.Output)
		doc = *dp
	}
	// escaping can make the output and the input longer: 1/8 more is
	// room enough for the usual data
	n := 400 + len(arn) + len(m.arn) + len(name) + len(in.TraceHeader) + len(res.Error) + len(res.Cause)
	n += len(doc) + len(doc)/8 + len(in.rawInput) + len(in.Input) + len(in.Input)/8
	b := make([]byte, 0, n)
	status := res.Status
	if status == express.Aborted {
		// SyncExecutionStatus has no ABORTED: the caller went away or the
		// server stopped; answer FAILED with the error.
		status = express.Failed
	}
	b = append(b, `{"executionArn":`...)
	b = appendJSONString(b, arn)
	b = append(b, `,"stateMachineArn":`...)
	b = appendJSONString(b, m.arn)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"startDate":`...)
	b = appendTimestamp(b, res.Start)
	b = append(b, `,"stopDate":`...)
	b = appendTimestamp(b, res.Stop)
	b = append(b, `,"status":"`...)
	b = append(b, status...)
	b = append(b, '"')
	if res.Status == express.Succeeded {
		if !metadataOnly {
			b = append(b, `,"output":`...)
			// AppendString only reads doc, during the call
			b = appendJSONString(b, unsafe.String(unsafe.SliceData(doc), len(doc)))
		}
	} else {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, truncate(res.Error, 256))
		b = append(b, `,"cause":`...)
		b = appendJSONString(b, truncate(res.Cause, 32768))
	}
	if !metadataOnly {
		b = append(b, `,"input":`...)
		switch {
		case in.rawInput != nil:
			b = append(b, in.rawInput...)
		case in.hasInput:
			b = appendJSONString(b, in.Input)
		default:
			b = append(b, `"{}"`...)
		}
	}
	b = append(b, `,"inputDetails":{"included":`...)
	b = appendBool(b, !metadataOnly)
	b = append(b, `},"outputDetails":{"included":`...)
	b = appendBool(b, !metadataOnly)
	b = append(b, '}')
	if in.hasTrace {
		b = append(b, `,"traceHeader":`...)
		b = appendJSONString(b, in.TraceHeader)
	}
	b = append(b, `,"billingDetails":{"billedMemoryUsedInMB":`...)
	b = appendInt(b, billedMemoryMB(len(m.Definition), len(in.Input), len(doc)))
	b = append(b, `,"billedDurationInMilliseconds":`...)
	b = appendInt(b, billedDurationMS(res.Stop.Sub(res.Start)))
	b = append(b, "}}"...)
	return b
}

func orEmpty(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// billedDurationMS rounds a duration up to the next 100 ms, as Express
// executions are billed (at least 100 ms).
func billedDurationMS(d time.Duration) int64 {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return max(1, (int64(ms)+99)/100) * 100
}

// billedMemoryMB estimates an execution's memory as AWS's pricing page
// does (50 MB + the definition's size + the execution data's size) and
// bills it in 64 MB chunks. The execution data here is the input and the
// output; the page's factor for Map and Parallel steps is not counted.
func billedMemoryMB(defLen, inLen, outLen int) int64 {
	const mb = 1 << 20
	used := int64(50*mb + defLen + inLen + outLen)
	chunks := (used + 64*mb - 1) / (64 * mb)
	return chunks * 64
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

func appendInt(b []byte, n int64) []byte {
	return strconvAppendInt(b, n)
}

// docs are the scratch buffers of appendSyncResult's output documents.
var docs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// parsers are execution input parsers (each reuses its scratch space).
var parsers = sync.Pool{New: func() any { return new(jsonv.Parser) }}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
