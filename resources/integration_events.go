package resources

import (
	"context"
	"strings"
	"time"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// EventsPut is the EventBridge integration. Each of its Parameters'
// Entries goes to the target its EventBusName (a name or an ARN; "default"
// when absent) picks; a target that publishes gets the event as
// EventBridge delivers it, keyed by its Source, and the result is
// {Entries: [{EventId}], FailedEntryCount: 0}. A target that answers
// answers for the whole call: it gets the parameters, and the first such
// entry ends the call.
const EventsPut = "arn:aws:states:::events:putEvents"

func init() { registerIntegration(eventsPut) }

// eventsCall is the parameters and their Entries.
type eventsCall struct {
	params  map[string]any
	entries []any
}

var eventsPut = integration[eventsCall]{
	resource: EventsPut,
	short: func(k string) string {
		if strings.HasPrefix(k, "arn:aws:events:") {
			return lastSegment(k, "/")
		}
		return ""
	},
	check: checkRoutes,
	build: func(r *Resources, req *express.TaskRequest, m map[string]any) (eventsCall, error) {
		entries, _ := m["Entries"].([]any)
		if len(entries) == 0 {
			return eventsCall{}, express.Errorf(express.ErrRuntime, "events:putEvents needs a non-empty Entries array")
		}
		return eventsCall{m, entries}, nil
	},
	// Entries are read one by one as they are sent: an entry that is not
	// an object or names no target fails the call after the entries
	// before it were published.
	invoke: func(ctx context.Context, r *Resources, req *express.TaskRequest, c eventsCall) (any, error) {
		out := make([]any, 0, len(c.entries))
		for i, e := range c.entries {
			em, ok := e.(map[string]any)
			if !ok {
				return nil, express.Errorf(express.ErrRuntime, "Entries[%d] is not an object", i)
			}
			bus := str(em, "EventBusName")
			if bus == "" {
				bus = "default"
			}
			t, err := r.target(req, bus, lastSegment(bus, "/"))
			if err != nil {
				return nil, err
			}
			rp, err := r.send(ctx, req, call{t, event(c.params, em)})
			if err != nil || !rp.Published {
				return answered(req, rp), err
			}
			out = append(out, map[string]any{"EventId": messageID(req, rp)})
		}
		return map[string]any{"Entries": out, "FailedEntryCount": int64(0)}, nil
	},
}

// event is the Message of one entry: the parameters to a target that
// answers; to one that publishes, the event as EventBridge delivers it,
// keyed by its Source.
func event(params, em map[string]any) Message {
	detail := em["Detail"]
	if s, ok := detail.(string); ok {
		if v, err := jsonv.ParsePlain([]byte(s)); err == nil {
			detail = v
		}
	}
	env := map[string]any{"version": "0", "detail-type": em["DetailType"], "source": em["Source"],
		"time": time.Now().UTC().Format(time.RFC3339), "resources": em["Resources"], "detail": detail}
	if env["resources"] == nil {
		env["resources"] = []any{}
	}
	msg := Message{Body: params, Value: env}
	if s := str(em, "Source"); s != "" {
		msg.Key = []byte(s)
	}
	return msg
}
