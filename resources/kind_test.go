package resources

import (
	"context"
	"strings"
	"testing"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// echoKind is a target kind added from this file alone, as any new kind
// is: echo:TEXT answers every request with {"text": TEXT, "got": body}.
// The one line registering it:
func init() { RegisterKind(echoKind{}) }

type echoKind struct{}

func (echoKind) Name() Kind { return "echo" }

func (echoKind) Syntax() Syntax { return Syntax{Prefixes: []string{"echo:"}, Form: "echo:TEXT"} }

func (echoKind) Parse(s string, t *Target) error {
	t.Endpoint = echoTarget(strings.TrimPrefix(s, "echo:"))
	return nil
}

type echoTarget string

func (e echoTarget) Send(_ context.Context, _ *Config, _ *express.TaskRequest, msg Message) (Reply, error) {
	return Reply{Result: map[string]any{"text": string(e), "got": msg.Body}}, nil
}

func TestRegisteredKind(t *testing.T) {
	tg := mustTarget(t, "echo:hi")
	if tg.Kind != "echo" || tg.String() != "echo:hi" {
		t.Fatalf("%+v", tg)
	}
	r := build(t, nil, map[string]string{
		"custom":                         "echo:plain",
		LambdaInvoke:                     "echo:lambda",
		"arn:aws:sns:eu-west-1:1:alerts": "echo:sns",
	})
	v, err := invoke(r, "custom", `{"a":1}`)
	if err != nil || v.(map[string]any)["text"] != "plain" || v.(map[string]any)["got"].(map[string]any)["a"] != int64(1) {
		t.Fatal(v, err)
	}
	// The integrations send to it as to any target: lambda:invoke's
	// Payload, sns:publish's parameters (a target that answers).
	v, err = invoke(r, LambdaInvoke, `{"FunctionName":"f","Payload":{"x":2}}`)
	if err != nil || v.(map[string]any)["Payload"].(map[string]any)["got"].(map[string]any)["x"] != int64(2) {
		t.Fatal(v, err)
	}
	v, err = invoke(r, SNSPublish, `{"TopicArn":"alerts","Message":"m"}`)
	if err != nil || v.(map[string]any)["text"] != "sns" {
		t.Fatal(v, err)
	}
	// Its Endpoint has neither Inline nor AcceptsObjects: the engine gives
	// it plain values and a deadline.
	if r.InlineFor("custom") || r.AcceptsObjectsFor("custom") {
		t.Error("echo: inline or accepts objects")
	}
	if err := r.CheckResource("nope"); err == nil || !strings.Contains(err.Error(), "=echo:TEXT|URL|kafka:TOPIC|static:JSON") {
		t.Errorf("CheckResource: %v", err)
	}
}

// TestUnknownKind: a TARGET of no registered kind, and a Target value of an
// unknown kind or not made by ParseTarget, are errors naming the kinds; no
// kind is the default.
func TestUnknownKind(t *testing.T) {
	_, err := ParseTarget("nats:readings")
	if err == nil || err.Error() != `"nats:readings" is not echo:TEXT, an http:// or https:// URL, kafka:TOPIC or static:JSON` {
		t.Errorf("ParseTarget: %v", err)
	}
	_, err = New(Config{Routes: map[string][]Target{"r": {{Kind: "nats", Topic: "readings"}}}})
	if err == nil || err.Error() != `resource "r": target "": unknown kind "nats" (the kinds are echo, http, kafka, static)` {
		t.Errorf("New, unknown kind: %v", err)
	}
	_, err = New(Config{Routes: map[string][]Target{"r": {{Kind: KindKafka, Topic: "readings"}}}})
	if err == nil || !strings.Contains(err.Error(), `of kind "kafka" has no endpoint: make targets with ParseTarget`) {
		t.Errorf("New, hand-made target: %v", err)
	}
	if _, err := New(Config{Routes: map[string][]Target{HTTPInvoke: {mustTarget(t, "kafka:x")}}}); err == nil ||
		err.Error() != `resource "arn:aws:states:::http:invoke": target "kafka:x": http:invoke targets are URL prefixes (the allowlist)` {
		t.Errorf("http:invoke allowlist of a topic: %v", err)
	}
}

func TestRegisterKindClash(t *testing.T) {
	for _, k := range []TargetKind{clashKind{"kafka", "k:"}, clashKind{"kafka2", "kafka:x"}, clashKind{"kaf", "kaf"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v registered", k)
				}
			}()
			RegisterKind(k)
		}()
	}
}

type clashKind struct{ name, prefix string }

func (c clashKind) Name() Kind                { return Kind(c.name) }
func (c clashKind) Syntax() Syntax            { return Syntax{Prefixes: []string{c.prefix}, Form: c.prefix} }
func (clashKind) Parse(string, *Target) error { return nil }

func TestIntegrationTable(t *testing.T) {
	for _, res := range []string{LambdaInvoke, SNSPublish, SQSSend, EventsPut, HTTPInvoke} {
		for _, s := range []string{res, res + ".sync", res + ":2"} {
			if in := integrationFor(s); in == nil || in.resource != res {
				t.Errorf("%s: %v", s, in)
			}
		}
	}
	if in := integrationFor("arn:aws:lambda:eu-west-1:1:function:f"); in != nil {
		t.Errorf("a function ARN is an integration: %s", in.resource)
	}
}

// TestPlainInvokeAllocs: a static target answers the engine's objects
// without allocating, as the hot path needs.
func TestPlainInvokeAllocs(t *testing.T) {
	r := build(t, nil, map[string]string{"arn:aws:lambda:eu-west-1:1:function:enrich": `static:{"site":"plant-1"}`})
	in, _ := jsonv.Parse([]byte(`{"deviceId":"d1"}`))
	req := &express.TaskRequest{Resource: "arn:aws:lambda:eu-west-1:1:function:enrich", Input: in}
	if !r.AcceptsObjectsFor(req.Resource) || !r.InlineFor(req.Resource) {
		t.Fatal("static target: not inline or not taking objects")
	}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { r.Invoke(ctx, req) }); n != 0 {
		t.Errorf("%v allocations per Invoke", n)
	}
	if req.ResultSize != len(`{"site":"plant-1"}`) {
		t.Errorf("ResultSize %d", req.ResultSize)
	}
}
