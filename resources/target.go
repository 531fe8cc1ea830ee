package resources

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
)

// Kind names a kind of target: KindHTTP, KindKafka, KindStatic or one
// registered with RegisterKind.
type Kind string

// Target is where a resource's requests go. Make it with ParseTarget.
type Target struct {
	// Kind is the name of the target's kind.
	Kind Kind
	// Endpoint delivers the target's messages; the kind's Parse sets it.
	Endpoint Endpoint
	// URL, Topic and Static describe the targets of the built-in kinds,
	// for callers that look at targets (the daemon creates the topics of
	// kafka: targets on its embedded broker): the URL of a KindHTTP
	// target, the topic of a KindKafka one, the fixed result of a
	// KindStatic one (never modified). Only the Endpoint is used to run
	// Tasks.
	URL    *url.URL
	Topic  string
	Static any
	raw    string
}

// String returns the target as it was written.
func (t Target) String() string { return t.raw }

// TargetKind is a kind of TARGET, the extension point of this package: a
// new kind of target is one type implementing TargetKind, in its own file,
// and one line registering it:
//
//	func init() { RegisterKind(natsKind{}) }
//
// The built-in kinds are in target_static.go, target_http.go and
// target_kafka.go.
type TargetKind interface {
	// Name is the kind's name: the Kind of its targets, unique among the
	// registered kinds.
	Name() Kind
	// Syntax says how the kind's targets are written.
	Syntax() Syntax
	// Parse parses s, which begins with one of the kind's prefixes, into
	// t, whose Kind and String are set: it sets t.Endpoint (and, for the
	// built-in kinds, the field describing it). Its error says what is
	// wrong with s; ParseTarget quotes s in front of it.
	Parse(s string, t *Target) error
}

// Syntax says how the targets of a kind are written.
type Syntax struct {
	// Prefixes select the kind: a TARGET beginning with one of them is
	// the kind's ("kafka:"). No prefix of one kind may begin another's.
	Prefixes []string
	// Form is the target as --resource RESOURCE=FORM takes it, in
	// messages: "kafka:TOPIC", "URL".
	Form string
	// Description names the targets in "is not A, B or C" when it says
	// more than Form ("an http:// or https:// URL"); empty means Form.
	Description string
}

// Endpoint is a parsed target: it delivers what a Task sends (Message)
// and answers with a Reply. cfg is the Config of the Resources calling,
// its defaults filled in (the HTTPClient, the timeouts, the Producer,
// which may be nil); an error of type *express.Error fails the Task with
// its name. Endpoints are read-only after Parse and called concurrently.
//
// An Endpoint may also have the methods of express.Inline (Inline() bool:
// it answers at once without blocking, so the engine sets up no deadline)
// and express.ObjectsOK (AcceptsObjects() bool: Message.Body and
// Message.Value may hold the engine's objects, which it writes with
// jsonv.AppendJSON or ignores, and keeps nothing of once Send returns:
// their memory is reused, see express.Result.Release). Without them it is
// neither.
type Endpoint interface {
	Send(ctx context.Context, cfg *Config, req *express.TaskRequest, msg Message) (Reply, error)
}

// Message is what a Task sends to a target: for a plain Task resource, its
// input; for an integration, what its parameters say.
type Message struct {
	// Body is the request as a whole, as a target that answers gets it:
	// a URL target posts it as JSON.
	Body any
	// Value is what a target that publishes writes (a record's value): a
	// []byte as it is, any other value as JSON.
	Value any
	// Key and Headers go with a published message (the record's key and
	// headers; the idempotency headers are added to them).
	Key     []byte
	Headers []kgo.RecordHeader
	// Lambda says the Task calls a Lambda function (a function ARN or
	// lambda:invoke): a URL target is called as the Lambda Invoke API is
	// and its answer read as Lambda's (see lambda_http.go).
	Lambda bool
}

// Reply is a target's answer to a Message: a result (a target that
// answers: static:, a URL) or where the message was published (a target
// that publishes: kafka:), which each integration turns into its own
// result (a MessageId, an EventId, ...).
type Reply struct {
	// Result is the answer, when Published is false.
	Result any
	// Size is an upper bound of Result's size as compact JSON when the
	// target knows one, 0 otherwise (express.TaskRequest.ResultSize).
	Size int
	// Published says the message went to Topic, Partition, Offset.
	Published bool
	Topic     string
	Partition int32
	Offset    int64
	// Status and Header are the HTTP status and response headers of a
	// URL target's answer (0 and nil for other targets): lambda:invoke
	// returns them in its SdkHttpMetadata.
	Status int
	Header http.Header
}

// plain is the result of a plain Task resource (and the Payload of
// lambda:invoke): the answer, or where the message was published.
func (rp Reply) plain() any {
	if !rp.Published {
		return rp.Result
	}
	return map[string]any{"Topic": rp.Topic, "Partition": int64(rp.Partition), "Offset": rp.Offset}
}

var kinds struct {
	sync.RWMutex
	list []TargetKind // sorted by name
}

// RegisterKind adds a kind of target. It panics when the kind's name is
// taken or empty, or when one of its prefixes begins another kind's
// prefix or the other way round (that is a programming error, as
// database/sql's Register has it). Register kinds from init functions.
func RegisterKind(k TargetKind) {
	kinds.Lock()
	defer kinds.Unlock()
	name, syn := k.Name(), k.Syntax()
	if name == "" || len(syn.Prefixes) == 0 {
		panic("resources: RegisterKind: a kind needs a name and a prefix")
	}
	for _, o := range kinds.list {
		if o.Name() == name {
			panic(fmt.Sprintf("resources: RegisterKind: kind %q registered twice", name))
		}
		for _, p := range syn.Prefixes {
			for _, q := range o.Syntax().Prefixes {
				if strings.HasPrefix(p, q) || strings.HasPrefix(q, p) {
					panic(fmt.Sprintf("resources: RegisterKind: the prefix %q of kind %q clashes with %q of kind %q", p, name, q, o.Name()))
				}
			}
		}
	}
	kinds.list = append(kinds.list, k)
	sort.Slice(kinds.list, func(i, j int) bool { return kinds.list[i].Name() < kinds.list[j].Name() })
}

// Kinds returns the registered kinds, sorted by name.
func Kinds() []TargetKind {
	kinds.RLock()
	defer kinds.RUnlock()
	return append([]TargetKind(nil), kinds.list...)
}

// kindNamed returns the registered kind called name.
func kindNamed(name Kind) (TargetKind, bool) {
	for _, k := range Kinds() {
		if k.Name() == name {
			return k, true
		}
	}
	return nil, false
}

// ParseTarget parses a TARGET: "http://…", "https://…", "kafka:TOPIC",
// "static:JSON" or a target of a registered kind. A TARGET of no known
// kind is an error naming the kinds.
func ParseTarget(s string) (Target, error) {
	for _, k := range Kinds() {
		for _, p := range k.Syntax().Prefixes {
			if !strings.HasPrefix(s, p) {
				continue
			}
			t := Target{Kind: k.Name(), raw: s}
			if err := k.Parse(s, &t); err != nil {
				return Target{}, fmt.Errorf("%q: %v", s, err)
			}
			if t.Endpoint == nil {
				return Target{}, fmt.Errorf("%q: kind %q made no endpoint", s, k.Name())
			}
			return t, nil
		}
	}
	return Target{}, fmt.Errorf("%q is not %s", s, kindList(func(s Syntax) string {
		if s.Description != "" {
			return s.Description
		}
		return s.Form
	}, ", ", " or "))
}

// kindForms lists the forms of the registered kinds for --resource
// hints: "URL|kafka:TOPIC|static:JSON".
func kindForms() string {
	return kindList(func(s Syntax) string { return s.Form }, "|", "|")
}

// kindList joins one string per registered kind, sorted by name, with sep
// and, before the last, last.
func kindList(of func(Syntax) string, sep, last string) string {
	var b strings.Builder
	ks := Kinds()
	for i, k := range ks {
		switch {
		case i == 0:
		case i == len(ks)-1:
			b.WriteString(last)
		default:
			b.WriteString(sep)
		}
		b.WriteString(of(k.Syntax()))
	}
	return b.String()
}

// check reports a target that cannot run Tasks: one not made by
// ParseTarget, or of a kind that is not registered.
func (t Target) check() error {
	if t.Endpoint != nil {
		return nil
	}
	if _, ok := kindNamed(t.Kind); !ok {
		names := make([]string, 0, 4)
		for _, k := range Kinds() {
			names = append(names, string(k.Name()))
		}
		return fmt.Errorf("target %q: unknown kind %q (the kinds are %s)", t, t.Kind, strings.Join(names, ", "))
	}
	return fmt.Errorf("target %q of kind %q has no endpoint: make targets with ParseTarget", t, t.Kind)
}

// inline and acceptsObjects read an Endpoint's optional methods.
func inline(e Endpoint) bool {
	i, ok := e.(interface{ Inline() bool })
	return ok && i.Inline()
}

func acceptsObjects(e Endpoint) bool {
	o, ok := e.(interface{ AcceptsObjects() bool })
	return ok && o.AcceptsObjects()
}
