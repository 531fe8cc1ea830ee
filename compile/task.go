package compile

import (
	"strings"
	"time"

	"github.com/stepstream/express/aslpath"
	"github.com/stepstream/express/compile/choice"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/compile/intrinsic"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// flowFor compiles the state's data flow in its query language.
func (sc *stateCompiler) flowFor(f ioFields) flow {
	if sc.lang == langJSONata {
		return sc.jsonataFlow(f)
	}
	return sc.c.pathFlow(sc.obj, sc.ptr, f)
}

var (
	jpPassFields    = []string{"InputPath", "Parameters", "Result", "ResultPath", "OutputPath", "Assign", "Next", "End"}
	jaPassFields    = []string{"Output", "Assign", "Next", "End"}
	jpTaskFields    = []string{"Resource", "InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "Assign", "Next", "End", "Retry", "Catch", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"}
	jaTaskFields    = []string{"Resource", "Arguments", "Output", "Assign", "Next", "End", "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"}
	jpChoiceFields  = []string{"Choices", "Default", "InputPath", "OutputPath", "Assign"}
	jaChoiceFields  = []string{"Choices", "Default", "Output", "Assign"}
	jpWaitFields    = []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath", "InputPath", "OutputPath", "Assign", "Next", "End"}
	jaWaitFields    = []string{"Seconds", "Timestamp", "Output", "Assign", "Next", "End"}
	jpSucceedFields = []string{"InputPath", "OutputPath"}
	jaSucceedFields = []string{"Output"}
	jpFailFields    = []string{"Error", "ErrorPath", "Cause", "CausePath"}
	jaFailFields    = []string{"Error", "Cause"}
	jpParFields     = []string{"Branches", "InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "Assign", "Next", "End", "Retry", "Catch"}
	jaParFields     = []string{"Branches", "Arguments", "Output", "Assign", "Next", "End", "Retry", "Catch"}
	jpMapFields     = []string{"ItemProcessor", "Iterator", "ItemsPath", "ItemSelector", "Parameters", "MaxConcurrency", "MaxConcurrencyPath", "InputPath", "ResultSelector", "ResultPath", "OutputPath", "Assign", "Next", "End", "Retry", "Catch", "ToleratedFailureCount", "ToleratedFailureCountPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "Label", "ItemReader", "ResultWriter", "ItemBatcher"}
	jaMapFields     = []string{"ItemProcessor", "Iterator", "Items", "ItemSelector", "MaxConcurrency", "Output", "Assign", "Next", "End", "Retry", "Catch", "ToleratedFailureCount", "ToleratedFailurePercentage", "Label", "ItemReader", "ResultWriter", "ItemBatcher", "Arguments"}
)

func (sc *stateCompiler) pass() {
	sc.allow(sc.langFields(jpPassFields, jaPassFields)...)
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	fl := sc.flowFor(ioFields{inputPath: true, params: true, resultPath: true, outputPath: true})
	result, hasResult := sc.obj["Result"]
	if pf, ok := fl.(*pathFlow); ok {
		pf.resultFrom = resultEffective
		if hasResult {
			pf.resultFrom, pf.resultSize = resultLiteral, express.SizeBound(result)
		}
		switch {
		case hasResult:
			pf.setOwnership(ownership{})
		case pf.params != nil:
			pf.setOwnership(ownership{inputKept: templateKeepsRoot(pf.params), freshResult: !pf.params.isConst && !pf.params.isArr})
		default:
			pf.setOwnership(ownership{inputKept: true, passThrough: pf.inputPath == nil && !pf.inputNull})
		}
	}
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		var res any
		if hasResult {
			res = result
		} else {
			eff, err := fl.effective(s, in)
			if err != nil {
				return nil, 0, err
			}
			res = eff
		}
		out, err := fl.finish(s, in, res)
		return out, next, err
	}
}

func (sc *stateCompiler) succeed() {
	sc.allow(sc.langFields(jpSucceedFields, jaSucceedFields)...)
	fl := sc.flowFor(ioFields{inputPath: true, outputPath: true})
	fl.setOwnership(passThroughOwnership(sc.obj))
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		out, err := fl.finish(s, in, eff)
		return out, express.End, err
	}
}

func (sc *stateCompiler) fail() {
	sc.allow(sc.langFields(jpFailFields, jaFailFields)...)
	if sc.lang == langJSONata {
		sc.jsonataFail()
		return
	}
	errFn := sc.failField("Error", "ErrorPath")
	causeFn := sc.failField("Cause", "CausePath")
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		e := &express.Error{}
		if errFn != nil {
			v, err := errFn(s, in)
			if err != nil {
				return nil, 0, err
			}
			e.Name = v
		}
		if causeFn != nil {
			v, err := causeFn(s, in)
			if err != nil {
				return nil, 0, err
			}
			e.Cause, e.HasCause = v, true
		}
		return nil, 0, e
	}
}

// failField compiles Error/ErrorPath or Cause/CausePath of a Fail state.
func (sc *stateCompiler) failField(lit, pathField string) func(s *express.Scope, in any) (string, error) {
	lv, hasLit := sc.obj[lit]
	pv, hasPath := sc.obj[pathField]
	if hasLit && hasPath {
		sc.c.problem(sc.ptr, "%s and %s cannot both be set: keep one", lit, pathField)
		return nil
	}
	if hasLit {
		s, ok := sc.c.str(lv, sc.field(lit))
		if !ok {
			return nil
		}
		return func(*express.Scope, any) (string, error) { return s, nil }
	}
	if !hasPath {
		return nil
	}
	src, ok := sc.c.str(pv, sc.field(pathField))
	if !ok {
		return nil
	}
	if intrinsic.IsIntrinsic(src) {
		fn, err := intrinsic.Compile(src)
		if err != nil {
			sc.c.problem(sc.field(pathField), "invalid intrinsic function call: %v", err)
			return nil
		}
		return func(s *express.Scope, in any) (string, error) {
			v, err := fn.Eval(s, in)
			if err != nil {
				return "", err
			}
			return stringOrJSON(v), nil
		}
	}
	p, err := aslpath.Parse(src)
	if err != nil {
		sc.c.problem(sc.field(pathField), "%v", err)
		return nil
	}
	return func(s *express.Scope, in any) (string, error) {
		v, ok := p.Get(s, in)
		if !ok {
			return "", missingInTemplate(s, p, pathField, in)
		}
		return stringOrJSON(v), nil
	}
}

func stringOrJSON(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonv.Marshal(v)
}

func (sc *stateCompiler) task() {
	c := sc.c
	sc.allow(sc.langFields(jpTaskFields, jaTaskFields)...)
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	fl := sc.flowFor(ioFields{inputPath: true, params: true, resultSel: true, resultPath: true, outputPath: true})
	if pf, ok := fl.(*pathFlow); ok {
		rs := pf.resultSel
		// Scope.Invoke leaves the result's size bound (if the resource
		// knows it) where finish looks for the effective input's.
		pf.resultFrom = resultEffective
		pf.setOwnership(ownership{
			inputKept:   pf.params == nil || templateKeepsRoot(pf.params),
			freshResult: rs != nil && !rs.isConst && !rs.isArr,
		})
	}
	resource := ""
	if v, ok := sc.obj["Resource"]; !ok {
		c.problem(sc.ptr, "a Task needs a Resource: the ARN or URI of what to run")
	} else if s, ok := c.str(v, sc.field("Resource")); ok {
		resource = s
		if msg := checkResource(s); msg != "" {
			c.problem(sc.field("Resource"), "%s", msg)
		} else if c.opts.CheckResource != nil {
			if err := c.opts.CheckResource(s); err != nil {
				c.problem(sc.field("Resource"), "%v", err)
			}
		}
	}
	timeout := sc.seconds("TimeoutSeconds", "TimeoutSecondsPath")
	heartbeat := sc.seconds("HeartbeatSeconds", "HeartbeatSecondsPath")
	var creds *template
	if v, ok := sc.obj["Credentials"]; ok {
		m, isObj := v.(map[string]any)
		_, hasRole := m["RoleArn"]
		_, hasRolePath := m["RoleArn.$"]
		if !isObj || !(hasRole || hasRolePath) {
			c.problem(sc.field("Credentials"), "Credentials must be an object with RoleArn (or RoleArn.$)")
		} else if sc.lang == langJSONPath {
			creds = c.compileTemplate(v, sc.field("Credentials"))
		}
	}
	sc.retryCatch(fl)
	stateName, wfName := sc.name, c.opts.Name
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		req := s.TaskRequest()
		req.Resource, req.State, req.Workflow, req.Input = resource, stateName, wfName, eff
		if timeout != nil {
			if req.Timeout, err = timeout(s, in); err != nil {
				return nil, 0, err
			}
		}
		if heartbeat != nil {
			if req.Heartbeat, err = heartbeat(s, in); err != nil {
				return nil, 0, err
			}
		}
		if creds != nil {
			if req.Credentials, err = creds.eval(s, in); err != nil {
				return nil, 0, err
			}
		}
		res, err := s.Invoke(req)
		if err != nil {
			return nil, 0, err
		}
		out, err := fl.finish(s, in, res)
		return out, next, err
	}
}

// passThroughOwnership is the ownership of a state whose output is its
// input (Choice, Wait, Succeed).
func passThroughOwnership(obj map[string]any) ownership {
	_, hasInputPath := obj["InputPath"]
	_, hasAssign := obj["Assign"]
	return ownership{passThrough: !hasInputPath, inputKept: hasAssign}
}

// mentionsAssign reports whether any Choice rule has an Assign.
func mentionsAssign(v any) bool {
	rules, _ := v.([]any)
	for _, r := range rules {
		if m, ok := r.(map[string]any); ok {
			if _, has := m["Assign"]; has {
				return true
			}
		}
	}
	return false
}

// checkResource rejects Task resources that need AWS itself.
func checkResource(r string) string {
	switch {
	case strings.HasSuffix(r, ".sync") || strings.Contains(r, ".sync:"):
		return "the .sync integration pattern waits for an AWS job and is not available here: call the service and poll it from a Task, or use a request-response integration"
	case strings.HasSuffix(r, ".waitForTaskToken"):
		return "the .waitForTaskToken pattern needs AWS's task-token callbacks and is not available here"
	case strings.Contains(r, ":activity:"):
		return "activities need AWS's activity workers and are not available here: use an HTTP or in-process resource"
	}
	const svc = "arn:aws:states:::"
	if strings.HasPrefix(r, svc) {
		rest := strings.TrimPrefix(r, svc)
		if strings.HasPrefix(rest, "aws-sdk:") {
			return ""
		}
		if !knownIntegrations[rest] {
			return "unknown service integration \"" + rest + "\": use an optimized integration (e.g. lambda:invoke, dynamodb:getItem, sns:publish) or an aws-sdk: one"
		}
	}
	return ""
}

var knownIntegrations = fieldSet(
	"lambda:invoke", "http:invoke", "apigateway:invoke", "sns:publish", "sqs:sendMessage", "events:putEvents",
	"dynamodb:getItem", "dynamodb:putItem", "dynamodb:updateItem", "dynamodb:deleteItem",
	"states:startExecution", "ecs:runTask", "batch:submitJob", "glue:startJobRun", "athena:startQueryExecution",
	"athena:getQueryExecution", "athena:getQueryResults", "athena:stopQueryExecution", "codebuild:startBuild",
	"eks:call", "eks:runJob", "emr-serverless:startJobRun", "bedrock:invokeModel", "sagemaker:createTransformJob",
	"sagemaker:createTrainingJob", "sagemaker:createEndpoint", "elasticmapreduce:addStep", "mediaconvert:createJob",
	"glue:startCrawler", "databrew:startJobRun", "eventbridge:putEvents", "scheduler:createSchedule",
)

// seconds compiles TimeoutSeconds/TimeoutSecondsPath-style pairs.
func (sc *stateCompiler) seconds(lit, pathField string) func(s *express.Scope, in any) (time.Duration, error) {
	c := sc.c
	lv, hasLit := sc.obj[lit]
	pv, hasPath := sc.obj[pathField]
	if hasLit && hasPath {
		c.problem(sc.ptr, "%s and %s cannot both be set: keep one", lit, pathField)
		return nil
	}
	if hasLit {
		if sc.lang == langJSONata {
			if s, ok := lv.(string); ok && isJSONataExpr(s) {
				return sc.jsonataSeconds(lit, s)
			}
		}
		n, ok := c.posInt(lv, sc.field(lit))
		if !ok {
			return nil
		}
		d := time.Duration(n) * time.Second
		return func(*express.Scope, any) (time.Duration, error) { return d, nil }
	}
	if !hasPath {
		return nil
	}
	src, ok := c.str(pv, sc.field(pathField))
	if !ok {
		return nil
	}
	p, err := aslpath.Parse(src)
	if err != nil {
		c.problem(sc.field(pathField), "%v", err)
		return nil
	}
	return func(s *express.Scope, in any) (time.Duration, error) {
		v, err := getPath(s, p, in)
		if err != nil {
			return 0, err
		}
		n, ok := jsonv.Integer(v)
		if !ok || n <= 0 {
			return 0, s.Runtime("The %s field refers to value %s which is not a valid positive integer: %s", pathField, quoteValue(v), src)
		}
		return time.Duration(n) * time.Second, nil
	}
}

// quoteValue renders a value in an AWS cause: strings as they are, other
// values as JSON, in double quotes.
func quoteValue(v any) string {
	return "\"" + stringOrJSON(v) + "\""
}

// retryCatch compiles the Retry and Catch lists of Task, Parallel and Map.
func (sc *stateCompiler) retryCatch(fl flow) {
	c := sc.c
	if v, ok := sc.obj["Retry"]; ok {
		arr, isArr := v.([]any)
		if !isArr {
			c.problem(sc.field("Retry"), "Retry must be an array of retriers")
		}
		for i, rv := range arr {
			rptr := diag.Pointer(sc.ptr, "Retry", itoa(i))
			obj, ok := rv.(map[string]any)
			if !ok {
				c.problem(rptr, "a retrier must be an object with ErrorEquals")
				continue
			}
			c.allowed(obj, rptr, fieldSet("ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"))
			r := express.Retrier{Interval: time.Second, MaxAttempts: 3, BackoffRate: 2}
			r.ErrorEquals = c.errorEquals(obj, rptr, i == len(arr)-1)
			if v, ok := obj["IntervalSeconds"]; ok {
				if n, ok := c.posInt(v, diag.Pointer(rptr, "IntervalSeconds")); ok {
					r.Interval = time.Duration(n) * time.Second
				}
			}
			if v, ok := obj["MaxAttempts"]; ok {
				if n, ok := c.nonNegInt(v, diag.Pointer(rptr, "MaxAttempts")); ok {
					r.MaxAttempts = int(min(n, 99999999))
				}
			}
			if v, ok := obj["BackoffRate"]; ok {
				if f, ok := jsonv.Number(v); !ok || f < 1 {
					c.problem(diag.Pointer(rptr, "BackoffRate"), "BackoffRate must be a number of at least 1.0, not %s", describe(v))
				} else {
					r.BackoffRate = f
				}
			}
			if v, ok := obj["MaxDelaySeconds"]; ok {
				if n, ok := c.posInt(v, diag.Pointer(rptr, "MaxDelaySeconds")); ok {
					r.MaxDelay = time.Duration(n) * time.Second
				}
			}
			if v, ok := obj["JitterStrategy"]; ok {
				switch v {
				case "FULL":
					r.FullJitter = true
				case "NONE":
				default:
					c.problem(diag.Pointer(rptr, "JitterStrategy"), "JitterStrategy must be \"FULL\" or \"NONE\", not %s", describe(v))
				}
			}
			sc.st.Retry = append(sc.st.Retry, r)
		}
	}
	if v, ok := sc.obj["Catch"]; ok {
		arr, isArr := v.([]any)
		if !isArr {
			c.problem(sc.field("Catch"), "Catch must be an array of catchers")
		}
		for i, cv := range arr {
			cptr := diag.Pointer(sc.ptr, "Catch", itoa(i))
			obj, ok := cv.(map[string]any)
			if !ok {
				c.problem(cptr, "a catcher must be an object with ErrorEquals and Next")
				continue
			}
			if sc.lang == langJSONata {
				c.allowed(obj, cptr, fieldSet("ErrorEquals", "Next", "Output", "Assign", "Comment"))
			} else {
				c.allowed(obj, cptr, fieldSet("ErrorEquals", "Next", "ResultPath", "Assign", "Comment"))
			}
			ct := express.Catcher{ErrorEquals: c.errorEquals(obj, cptr, i == len(arr)-1), Next: express.End}
			if n, ok := obj["Next"]; ok {
				ct.Next = sc.b.target(sc.i, n, diag.Pointer(cptr, "Next"))
			} else {
				c.problem(cptr, "a catcher needs Next: the state to go to when it catches")
			}
			ct.Apply = fl.catcher(c, obj, cptr)
			sc.st.Catch = append(sc.st.Catch, ct)
		}
	}
}

func (c *compiler) errorEquals(obj map[string]any, ptr string, last bool) []string {
	v, ok := obj["ErrorEquals"]
	fptr := diag.Pointer(ptr, "ErrorEquals")
	if !ok {
		c.problem(ptr, "ErrorEquals is missing: list the error names to match, e.g. [\"States.ALL\"]")
		return nil
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		c.problem(fptr, "ErrorEquals must be a non-empty array of error names")
		return nil
	}
	names := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			c.problem(diag.Pointer(fptr, itoa(i)), "error names must be strings")
			continue
		}
		if s == express.ErrALL {
			if len(arr) != 1 {
				c.problem(diag.Pointer(fptr, itoa(i)), "States.ALL must appear alone in its ErrorEquals")
			}
			if !last {
				c.problem(diag.Pointer(fptr, itoa(i)), "the States.ALL entry must be the last one: entries after it can never match")
			}
		}
		names = append(names, s)
	}
	return names
}

func (sc *stateCompiler) choice() {
	c := sc.c
	sc.allow(sc.langFields(jpChoiceFields, jaChoiceFields)...)
	fl := sc.flowFor(ioFields{inputPath: true, outputPath: true})
	// The state's own Assign applies only when Default is taken; a rule's
	// Assign when that rule matches.
	defAssign := fl.splitAssign()
	own := passThroughOwnership(sc.obj)
	if defAssign != nil || mentionsAssign(sc.obj["Choices"]) {
		own.inputKept = true
	}
	fl.setOwnership(own)
	type rule struct {
		cond   choice.Cond
		next   int
		assign func(s *express.Scope, in any) (map[string]any, error)
		output func(s *express.Scope, in any) (any, bool, error)
	}
	var rules []rule
	arr, ok := sc.obj["Choices"].([]any)
	if !ok || len(arr) == 0 {
		c.problem(sc.ptr, "a Choice state needs Choices: a non-empty array of rules")
	}
	for i, rv := range arr {
		rptr := diag.Pointer(sc.ptr, "Choices", itoa(i))
		obj, ok := rv.(map[string]any)
		if !ok {
			c.problem(rptr, "a Choice rule must be an object")
			continue
		}
		r := rule{next: express.End}
		if n, ok := obj["Next"]; ok {
			r.next = sc.b.target(sc.i, n, diag.Pointer(rptr, "Next"))
		} else {
			c.problem(rptr, "a Choice rule needs Next: the state to go to when it matches")
		}
		if sc.lang == langJSONata {
			r.cond, r.assign, r.output = sc.jsonataRule(obj, rptr)
		} else {
			cond, probs := choice.Compile(obj, rptr)
			c.problems = append(c.problems, probs...)
			r.cond = cond
			if v, ok := obj["Assign"]; ok {
				if t := c.assignTemplate(v, diag.Pointer(rptr, "Assign")); t != nil {
					r.assign = t.assignEval
				}
			}
		}
		rules = append(rules, r)
	}
	def := -1
	if v, ok := sc.obj["Default"]; ok {
		def = sc.b.target(sc.i, v, sc.field("Default"))
	}
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		for i := range rules {
			r := &rules[i]
			if r.cond == nil {
				continue
			}
			ok, err := r.cond(s, eff)
			if err != nil {
				return nil, 0, err
			}
			if !ok {
				continue
			}
			var assigned map[string]any
			if r.assign != nil {
				if assigned, err = r.assign(s, eff); err != nil {
					return nil, 0, err
				}
			}
			var out any
			if r.output != nil {
				o, has, err := r.output(s, in)
				if err != nil {
					return nil, 0, err
				}
				if has {
					out = o
				} else if out, err = fl.finish(s, in, eff); err != nil {
					return nil, 0, err
				}
			} else if out, err = fl.finish(s, in, eff); err != nil {
				return nil, 0, err
			}
			if assigned != nil {
				s.Assign(assigned)
			}
			return out, r.next, nil
		}
		if def < 0 {
			// AWS reports this as States.Runtime (not States.NoChoiceMatched).
			return nil, 0, s.Runtime("No Choice rule matched and no Default is set")
		}
		var assigned map[string]any
		if defAssign != nil {
			if assigned, err = defAssign(s, in, eff); err != nil {
				return nil, 0, err
			}
		}
		out, err := fl.finish(s, in, eff)
		if err == nil && assigned != nil {
			s.Assign(assigned)
		}
		return out, def, err
	}
}
