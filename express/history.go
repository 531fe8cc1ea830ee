package express

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepstream/express/internal/jsonv"
)

// History records an execution's events as Step Functions'
// GetExecutionHistory names and numbers them (ExecutionStarted,
// PassStateEntered, TaskScheduled, MapIterationStarted, ...), with ids,
// previous-event ids and timestamps. Give one to ExecOptions.History to
// record; without one the engine only counts events (for the "entered at
// the event id #N" of its causes), at no further cost.
//
// A History is for one execution; Events may be called once it has
// finished.
type History struct {
	// NoData leaves inputs, outputs and parameters out of the events (as
	// Step Functions does when execution data logging is off), keeping
	// names, errors and causes.
	NoData bool

	mu     sync.Mutex
	events []HistoryEvent
}

// HistoryEvent is one event, with AWS's field names (see MarshalJSON).
type HistoryEvent struct {
	Timestamp       time.Time
	Type            string
	ID              int64
	PreviousEventID int64
	// Details is the event's details object, keyed in JSON by DetailsKey
	// (stateEnteredEventDetails, taskFailedEventDetails, ...); nil when the
	// event type has none.
	DetailsKey string
	Details    *EventDetails
}

// EventDetails holds the fields of AWS's *EventDetails shapes that the
// engine fills in; each event type uses its own subset.
type EventDetails struct {
	Name             string            `json:"name,omitempty"`
	Index            *int              `json:"index,omitempty"`
	Length           *int              `json:"length,omitempty"`
	ResourceType     string            `json:"resourceType,omitempty"`
	Resource         string            `json:"resource,omitempty"`
	Region           string            `json:"region,omitempty"`
	Parameters       *string           `json:"parameters,omitempty"`
	TimeoutInSeconds int64             `json:"timeoutInSeconds,omitempty"`
	Input            *string           `json:"input,omitempty"`
	InputDetails     *DataDetails      `json:"inputDetails,omitempty"`
	Output           *string           `json:"output,omitempty"`
	OutputDetails    *DataDetails      `json:"outputDetails,omitempty"`
	Error            *string           `json:"error,omitempty"`
	Cause            *string           `json:"cause,omitempty"`
	RoleArn          string            `json:"roleArn,omitempty"`
	Assigned         map[string]string `json:"assignedVariables,omitempty"`
}

// DataDetails is AWS's HistoryEventExecutionDataDetails.
type DataDetails struct {
	Truncated bool `json:"truncated"`
}

// MarshalJSON writes the event as the Step Functions API does: timestamp
// in epoch seconds (with milliseconds), type, id, previousEventId and the
// details object under its key.
func (e HistoryEvent) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 160)
	b = append(b, `{"timestamp":`...)
	b = strconv.AppendFloat(b, float64(e.Timestamp.UnixMilli())/1000, 'f', -1, 64)
	b = append(b, `,"type":`...)
	b = strconv.AppendQuote(b, e.Type)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"previousEventId":`...)
	b = strconv.AppendInt(b, e.PreviousEventID, 10)
	if e.Details != nil {
		d, err := json.Marshal(e.Details)
		if err != nil {
			return nil, err
		}
		b = append(b, ',')
		b = strconv.AppendQuote(b, e.DetailsKey)
		b = append(b, ':')
		b = append(b, d...)
	}
	return append(b, '}'), nil
}

// Events returns the recorded events ordered by id.
func (h *History) Events() []HistoryEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]HistoryEvent(nil), h.events...)
	// Map iterations and Parallel branches record from several goroutines:
	// ids are taken in order, appends may not be.
	slices.SortFunc(out, func(a, b HistoryEvent) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (h *History) add(e HistoryEvent) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

// data renders a value for an event's input or output, unless NoData.
func (h *History) data(v any) (*string, *DataDetails) {
	if h.NoData {
		return nil, nil
	}
	s := jsonv.Marshal(jsonv.Plain(v))
	return &s, &DataDetails{}
}

// Recording reports whether the execution records its history: callers
// that would build event details only for it check this first.
func (s *Scope) Recording() bool { return s.x.hist != nil }

// Event adds one history event of the running state's execution: it takes
// the next event id (the count the causes use) and, when the execution
// records its history, records it with details (which may be nil) under
// detailsKey. The scope's previous event becomes its previousEventId.
func (s *Scope) Event(typ, detailsKey string, details *EventDetails) {
	id := atomic.AddInt64(&s.x.events, 1)
	if h := s.x.hist; h != nil {
		h.add(HistoryEvent{Timestamp: s.x.clock.Now(), Type: typ, ID: id, PreviousEventID: s.lastEvent, DetailsKey: detailsKey, Details: details})
	}
	s.lastEvent = id
}

// StateData returns a value as an event's input or output, and its
// details, or nils when the history leaves data out or is off.
func (s *Scope) StateData(v any) (*string, *DataDetails) {
	if s.x.hist == nil {
		return nil, nil
	}
	return s.x.hist.data(v)
}

// MapStarted records MapStateStarted with the number of items.
func (s *Scope) MapStarted(length int) {
	s.Event("MapStateStarted", "mapStateStartedEventDetails", &EventDetails{Length: &length})
}

// MapIteration records MapIterationStarted, MapIterationSucceeded or
// MapIterationFailed (what: Started, Succeeded, Failed) for item index of
// Map state mapState, in the iteration's scope.
func (s *Scope) MapIteration(what, mapState string, index int) {
	if s.x.hist == nil {
		s.Event("", "", nil)
		return
	}
	key := "mapIteration" + what + "EventDetails"
	s.Event("MapIteration"+what, key, &EventDetails{Name: mapState, Index: &index})
}

// StateEvent records an event with no details, such as MapStateSucceeded,
// ParallelStateStarted or ParallelStateFailed.
func (s *Scope) StateEvent(typ string) { s.Event(typ, "", nil) }

// recordEntered records the <Type>StateEntered event of st.
func (s *Scope) recordEntered(st *State, input any) {
	h := s.x.hist
	d := &EventDetails{Name: st.Name}
	d.Input, d.InputDetails = h.data(input)
	s.Event(st.Type+"StateEntered", "stateEnteredEventDetails", d)
}

// recordExited records the <Type>StateExited event of st.
func (s *Scope) recordExited(st *State, output any) {
	h := s.x.hist
	d := &EventDetails{Name: st.Name}
	d.Output, d.OutputDetails = h.data(output)
	s.Event(st.Type+"StateExited", "stateExitedEventDetails", d)
}

// taskEvents names the events of a Task's resource: a Lambda function ARN
// gives LambdaFunction* events, anything else Task* events with AWS's
// resourceType and resource ("lambda" and "invoke" for
// arn:aws:states:::lambda:invoke).
func taskEvents(resource string) (prefix, resourceType, name string) {
	if strings.HasPrefix(resource, "arn:aws:lambda:") || strings.HasPrefix(resource, "arn:aws-") && strings.Contains(resource, ":lambda:") {
		return "LambdaFunction", "", resource
	}
	r := strings.TrimPrefix(resource, "arn:aws:states:::")
	if r != resource {
		typ, api, ok := strings.Cut(r, ":")
		if ok {
			return "Task", typ, api
		}
	}
	return "Task", "", resource
}

// recordTaskStart records TaskScheduled and TaskStarted (or their
// LambdaFunction forms) for req.
func (s *Scope) recordTaskStart(req *TaskRequest) {
	prefix, typ, res := taskEvents(req.Resource)
	h := s.x.hist
	sd := &EventDetails{ResourceType: typ, Resource: res, Region: s.x.wf.opts.Region}
	if !h.NoData {
		p := jsonv.Marshal(jsonv.Plain(req.Input))
		if prefix == "LambdaFunction" {
			sd.Input, sd.InputDetails = &p, &DataDetails{}
		} else {
			sd.Parameters = &p
		}
	}
	if req.Timeout > 0 {
		sd.TimeoutInSeconds = int64(req.Timeout / time.Second)
	}
	key := "taskScheduledEventDetails"
	if prefix == "LambdaFunction" {
		key = "lambdaFunctionScheduledEventDetails"
		sd.ResourceType, sd.Region = "", ""
	}
	s.Event(prefix+"Scheduled", key, sd)
	if prefix == "LambdaFunction" {
		s.Event("LambdaFunctionStarted", "", nil)
	} else {
		s.Event("TaskStarted", "taskStartedEventDetails", &EventDetails{ResourceType: typ, Resource: res})
	}
}

// recordTaskEnd records TaskSucceeded, TaskFailed or TaskTimedOut (or their
// LambdaFunction forms).
func (s *Scope) recordTaskEnd(req *TaskRequest, res any, err error) {
	prefix, typ, name := taskEvents(req.Resource)
	lambda := prefix == "LambdaFunction"
	d := &EventDetails{}
	if !lambda {
		d.ResourceType, d.Resource = typ, name
	}
	what := "Succeeded"
	if err != nil {
		e := AsError(err)
		what = "Failed"
		if e.Name == ErrTimeout {
			what = "TimedOut"
		}
		d.Error, d.Cause = &e.Name, &e.Cause
	} else {
		d.Output, d.OutputDetails = s.x.hist.data(res)
	}
	key := "task" + what + "EventDetails"
	if lambda {
		key = "lambdaFunction" + what + "EventDetails"
	}
	s.Event(prefix+what, key, d)
}

// recordExecutionStart records ExecutionStarted (event 1).
func (x *Execution) recordExecutionStart(input any) {
	d := &EventDetails{RoleArn: ""}
	d.Input, d.InputDetails = x.hist.data(input)
	x.hist.add(HistoryEvent{Timestamp: x.Start, Type: "ExecutionStarted", ID: 1, DetailsKey: "executionStartedEventDetails", Details: d})
}

// recordExecutionEnd records ExecutionSucceeded, ExecutionFailed,
// ExecutionTimedOut or ExecutionAborted.
func (x *Execution) recordExecutionEnd(res *Result, last int64) {
	d := &EventDetails{}
	var typ string
	switch res.Status {
	case Succeeded:
		typ = "ExecutionSucceeded"
		d.Output, d.OutputDetails = x.hist.data(res.Output)
	case TimedOut:
		typ = "ExecutionTimedOut"
	case Aborted:
		typ = "ExecutionAborted"
	default:
		typ = "ExecutionFailed"
	}
	if res.Status != Succeeded {
		errName, cause := res.Error, res.Cause
		d.Error, d.Cause = &errName, &cause
	}
	key := strings.ToLower(typ[:1]) + typ[1:] + "EventDetails"
	id := atomic.AddInt64(&x.events, 1)
	x.hist.add(HistoryEvent{Timestamp: res.Stop, Type: typ, ID: id, PreviousEventID: last, DetailsKey: key, Details: d})
}
