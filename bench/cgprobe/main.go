package main

import (
	"context"
	"os"
	"strconv"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

func main() {
	def, _ := os.ReadFile("../shared/bench/iot-reference.asl.json")
	result := map[string]any{"site": "plant-1", "threshold": int64(30)}
	enrich := express.InlineFunc(func(_ context.Context, r *express.TaskRequest) (any, error) {
		r.ResultSize = 40
		return result, nil
	})
	wf, err := compile.Compile(def, compile.Options{Invoker: objectsOK{enrich}})
	if err != nil {
		panic(err)
	}
	raw := []byte(`{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"unit":"C","battery":0.83,"tags":["roof","north"]}`)
	in, _ := jsonv.Parse(raw)
	n, _ := strconv.Atoi(os.Args[1])
	opts := express.ExecOptions{Name: "x", InputSize: len(raw), RawOutput: true}
	if len(os.Args) > 2 && os.Args[2] == "record" {
		// bytes in, bytes out, as the daemon's worker: parse, execute, write
		var p jsonv.Parser
		buf := make([]byte, 0, 512)
		for i := 0; i < n; i++ {
			v, l, _ := p.ParseLeased(raw)
			res := wf.Execute(context.Background(), v, opts)
			buf = jsonv.AppendJSON(buf[:0], res.Output)
			if res.Release() {
				l.Release()
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		res := wf.Execute(context.Background(), in, opts)
		res.Release()
	}
}

type objectsOK struct{ express.InlineFunc }

func (objectsOK) AcceptsObjectsFor(string) bool { return true }
