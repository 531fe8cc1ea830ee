package compile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
	"github.com/stepstream/express/testcase/seeds"
)

// FuzzCompile feeds the compiler mutated definitions. A definition must
// either be rejected with problems (or a parse error) or compile into a
// workflow whose execution ends with a result; nothing may panic or hang.
func FuzzCompile(f *testing.F) {
	for _, s := range seeds.Definitions() {
		f.Add([]byte(s))
	}
	// The conformance definitions make a rich corpus when ../shared is here.
	if files, err := filepath.Glob("../../shared/conformance/aws/*.json"); err == nil {
		for i, file := range files {
			if i%4 != 0 {
				continue
			}
			b, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			v, err := jsonv.ParsePlain(b)
			if err != nil {
				continue
			}
			if m, ok := v.(map[string]any); ok {
				f.Add([]byte(jsonv.Marshal(m["definition"])))
			}
		}
	}
	input := map[string]any{"a": int64(1), "s": "x", "xs": []any{int64(1), "b", nil}, "o": map[string]any{"k": 2.5}}
	inv := express.InlineFunc(func(_ context.Context, r *express.TaskRequest) (any, error) {
		if r.State == "Fail" {
			return nil, express.NewError("Boom", "fuzz")
		}
		return r.Input, nil
	})
	f.Fuzz(func(t *testing.T, def []byte) {
		wf, err := Compile(def, Options{Invoker: inv})
		if err != nil {
			if ps, ok := err.(diag.Problems); ok && len(ps) == 0 {
				t.Fatal("empty problem list returned as an error")
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res := wf.Execute(ctx, input, express.ExecOptions{Clock: express.NewVirtualClock(time.Unix(0, 0))})
		switch res.Status {
		case express.Succeeded, express.Failed, express.TimedOut, express.Aborted:
		default:
			t.Fatalf("unknown status %q", res.Status)
		}
		if res.Status != express.Succeeded && res.Error == "" && res.Cause == "" && res.Status != express.Failed {
			t.Fatalf("status %s without error", res.Status)
		}
	})
}
