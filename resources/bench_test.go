package resources

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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

// benchServer answers every POST with a small JSON object, as a Lambda
// function or an enrichment service does.
func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"site":"plant-1","threshold":30}`))
	}))
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkInvokeHTTP(b *testing.B) {
	srv := benchServer(b)
	r := build(&testing.T{}, nil, map[string]string{"enrich": srv.URL + "/enrich"})
	benchInvoke(b, r, "enrich")
}

func BenchmarkInvokeLambdaHTTP(b *testing.B) {
	srv := benchServer(b)
	r := build(&testing.T{}, nil, map[string]string{"arn:aws:lambda:eu-west-1:1:function:enrich": srv.URL + "/2015-03-31/functions/function/invocations"})
	benchInvoke(b, r, "arn:aws:lambda:eu-west-1:1:function:enrich")
}
