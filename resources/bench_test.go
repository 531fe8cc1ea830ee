package resources

import (
	"context"
	"testing"

	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// benchInvoke invokes resource with an engine object as input, as the
// engine does on the hot path, and reports allocations.
func benchInvoke(b *testing.B, r *Resources, resource string) {
	in, _ := jsonv.Parse([]byte(`{"deviceId":"d1","temperature":21.5,"tags":["a","b"]}`))
	req := &express.TaskRequest{Resource: resource, State: "S", Workflow: "wf", Execution: "exec-1", Input: in}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Invoke(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInvokeStatic(b *testing.B) {
	r := build(&testing.T{}, nil, map[string]string{"arn:aws:lambda:eu-west-1:1:function:enrich": `static:{"site":"plant-1","threshold":30}`})
	benchInvoke(b, r, "arn:aws:lambda:eu-west-1:1:function:enrich")
}

func BenchmarkInvokeKafka(b *testing.B) {
	r := build(&testing.T{}, &fakeProducer{}, map[string]string{"arn:aws:lambda:eu-west-1:1:function:enrich": "kafka:out"})
	benchInvoke(b, r, "arn:aws:lambda:eu-west-1:1:function:enrich")
}
