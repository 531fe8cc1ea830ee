package express_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// releaseDef builds its objects and a States.Format string in the root
// scope's arena, calls a Task with one of them and ends with a third.
const releaseDef = `{"StartAt":"N","States":{
	"N":{"Type":"Pass","Parameters":{"key.$":"States.Format('{}/{}', $.id, $.t)","id.$":"$.id","v.$":"$.v"},"Next":"T"},
	"T":{"Type":"Task","Resource":"r","Parameters":{"id.$":"$.id","key.$":"$.key"},"ResultPath":"$.meta","Next":"C"},
	"C":{"Type":"Choice","Choices":[{"Variable":"$.v","NumericLessThan":0,"Next":"F"}],"Default":"E"},
	"F":{"Type":"Fail","ErrorPath":"$.id","CausePath":"$.key"},
	"E":{"Type":"Pass","Parameters":{"key.$":"$.key","site.$":"$.meta.site","v.$":"$.v"},"End":true}}}`

// objectsInvoker is an inline resource that takes the engine's objects
// and keeps nothing of its request (express.ObjectsOK's promise).
type objectsInvoker struct{ express.InlineFunc }

func (objectsInvoker) AcceptsObjectsFor(string) bool { return true }

var siteResult = objectsInvoker{func(context.Context, *express.TaskRequest) (any, error) {
	return map[string]any{"site": "plant-1"}, nil
}}

func releaseInput(t testing.TB, id string, v int) any {
	in, err := jsonv.Parse(fmt.Appendf(nil, `{"id":%q,"t":"temperature","v":%d}`, id, v))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func wantOutput(id string, v int) string {
	return fmt.Sprintf(`{"key":"%s/temperature","site":"plant-1","v":%d}`, id, v)
}

var rawOpts = express.ExecOptions{Name: "r", RawOutput: true}

// outputObject is the *jsonv.Object a result's output is: its address
// tells whether a later execution built its output in the same memory.
func outputObject(t testing.TB, r *express.Result) *jsonv.Object {
	o, ok := r.Output.(*jsonv.Object)
	if !ok {
		t.Fatalf("output %T (%s %s %s), want *jsonv.Object", r.Output, r.Status, r.Error, r.Cause)
	}
	return o
}

// TestReleaseReuses: the memory of a released result's output is what a
// later execution builds its values in (so the other tests test reuse).
func TestReleaseReuses(t *testing.T) {
	wf := mustCompile(t, releaseDef, compile.Options{Invoker: siteResult})
	in := releaseInput(t, "dev-1", 5)
	for i := 0; i < 200; i++ { // sync.Pool drops some of what it is given under -race
		r := wf.Execute(context.Background(), in, rawOpts)
		old := outputObject(t, &r)
		if !r.Release() {
			t.Fatal("Release says the execution's values were held elsewhere")
		}
		if r.Output != nil {
			t.Fatal("Release left the output")
		}
		r2 := wf.Execute(context.Background(), in, rawOpts)
		if got := string(jsonv.AppendJSON(nil, r2.Output)); got != wantOutput("dev-1", 5) {
			t.Fatalf("output %s, want %s", got, wantOutput("dev-1", 5))
		}
		if outputObject(t, &r2) == old {
			r2.Release()
			return
		}
		r2.Release()
	}
	t.Fatal("no execution reused a released result's memory in 200 tries")
}

// TestReleaseKeepsHeldResults: a result nobody released stays as it was
// while other goroutines run and release theirs (run with -race too).
func TestReleaseKeepsHeldResults(t *testing.T) {
	wf := mustCompile(t, releaseDef, compile.Options{Invoker: siteResult})
	held := wf.Execute(context.Background(), releaseInput(t, "held", 1), rawOpts)
	heldFail := wf.Execute(context.Background(), releaseInput(t, "gone", -1), rawOpts)
	if held.Status != express.Succeeded || heldFail.Status != express.Failed || heldFail.Error != "gone" || heldFail.Cause != "gone/temperature" {
		t.Fatalf("held %s, failed %s %q", held.Status, heldFail.Status, heldFail.Cause)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			id := fmt.Sprintf("g%d", g)
			in, bad := releaseInput(t, id, g), releaseInput(t, id, -1)
			var buf []byte
			for i := 0; i < 2000; i++ {
				r := wf.Execute(context.Background(), in, rawOpts)
				if buf = jsonv.AppendJSON(buf[:0], r.Output); string(buf) != wantOutput(id, g) {
					t.Errorf("output %s, want %s", buf, wantOutput(id, g))
					return
				}
				r.Release()
				f := wf.Execute(context.Background(), bad, rawOpts)
				f.Release()
				if f.Status != express.Failed || f.Error != id || f.Cause != id+"/temperature" {
					t.Errorf("failure %s %q", f.Status, f.Cause)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if got := string(jsonv.AppendJSON(nil, held.Output)); got != wantOutput("held", 1) {
		t.Fatalf("held output changed: %s", got)
	}
	// The Fail state's Cause was built by States.Format in the arena, its
	// Error read from the input: the result has its own copies, which
	// later executions do not overwrite.
	if heldFail.Error != "gone" || heldFail.Cause != "gone/temperature" {
		t.Fatalf("held error changed: %q %q", heldFail.Error, heldFail.Cause)
	}
	held.Release()
	heldFail.Release()
}

// TestReleaseStaleCopy: releasing a copy of a result whose memory was
// already released and reused by another execution does nothing to that
// execution's output.
func TestReleaseStaleCopy(t *testing.T) {
	wf := mustCompile(t, releaseDef, compile.Options{Invoker: siteResult})
	in := releaseInput(t, "dev-1", 5)
	for i := 0; i < 200; i++ {
		r := wf.Execute(context.Background(), in, rawOpts)
		stale := r
		old := outputObject(t, &r)
		r.Release()
		r2 := wf.Execute(context.Background(), releaseInput(t, "dev-2", 6), rawOpts)
		if outputObject(t, &r2) != old {
			r2.Release()
			continue
		}
		stale.Release() // must not hand r2's memory out
		for j := 0; j < 50; j++ {
			r3 := wf.Execute(context.Background(), in, rawOpts)
			if outputObject(t, &r3) == old {
				t.Fatal("memory in use handed to another execution")
			}
			r3.Release()
		}
		if got := string(jsonv.AppendJSON(nil, r2.Output)); got != wantOutput("dev-2", 6) {
			t.Fatalf("output changed: %s", got)
		}
		r2.Release()
		return
	}
	t.Fatal("no execution reused a released result's memory in 200 tries")
}

// TestReleaseNotWhenShared: when the execution's values may be held
// elsewhere (a Task resource that takes plain values and keeps them, a
// recorded history, the ExecutionEnd hook), Release does not hand the
// memory back: what they hold never changes.
func TestReleaseNotWhenShared(t *testing.T) {
	var kept []any
	keeping := express.InlineFunc(func(_ context.Context, r *express.TaskRequest) (any, error) {
		kept = append(kept, r.Input) // allowed: it does not take objects
		return map[string]any{"site": "plant-1"}, nil
	})
	var hooked []*express.Result
	hooks := express.Hooks{ExecutionEnd: func(_ *express.Workflow, r *express.Result) {
		r.Release() // a hook cannot release the caller's result
		hooked = append(hooked, r)
	}}
	cases := []struct {
		name string
		wf   *express.Workflow
		opts func() express.ExecOptions
	}{
		{"plain invoker", mustCompile(t, releaseDef, compile.Options{Invoker: keeping}), func() express.ExecOptions { return rawOpts }},
		{"history", mustCompile(t, releaseDef, compile.Options{Invoker: siteResult}), func() express.ExecOptions {
			o := rawOpts
			o.History = &express.History{}
			return o
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kept = kept[:0]
			var outs []*jsonv.Object
			for i := 0; i < 100; i++ {
				r := c.wf.Execute(context.Background(), releaseInput(t, fmt.Sprint(i), i), c.opts())
				o := outputObject(t, &r)
				for _, prev := range outs {
					if prev == o {
						t.Fatal("a shared execution's memory was reused")
					}
				}
				outs = append(outs, o)
				if r.Release() {
					t.Fatal("Release says nothing else held the values (the input may then be released)")
				}
			}
			for i, k := range kept {
				want := fmt.Sprintf(`{"id":"%d","key":"%d/temperature"}`, i, i)
				if got := jsonv.Marshal(k); got != want { // sorted keys: k is a map
					t.Fatalf("kept input %d changed: %s, want %s", i, got, want)
				}
			}
		})
	}
	t.Run("plain invoker in Parallel branches", func(t *testing.T) {
		var mu sync.Mutex
		var kept []any
		keep := express.InvokerFunc(func(_ context.Context, r *express.TaskRequest) (any, error) {
			mu.Lock()
			kept = append(kept, r.Input)
			mu.Unlock()
			return 1, nil
		})
		task := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Parameters":{"key.$":"$.key"},"End":true}}}`
		wf := mustCompile(t, `{"StartAt":"N","States":{
			"N":{"Type":"Pass","Parameters":{"key.$":"States.Format('{}/{}', $.id, $.t)"},"Next":"P"},
			"P":{"Type":"Parallel","Branches":[`+task+`,`+task+`],"End":true}}}`, compile.Options{Invoker: keep})
		for i := 0; i < 100; i++ {
			r := wf.Execute(context.Background(), releaseInput(t, fmt.Sprint(i), i), rawOpts)
			if r.Status != express.Succeeded {
				t.Fatal(r.Error, r.Cause)
			}
			if r.Release() {
				t.Fatal("Release says nothing else held the values")
			}
		}
		counts := map[string]int{}
		for _, k := range kept {
			counts[jsonv.Marshal(k)]++
		}
		for i := 0; i < 100; i++ {
			if k := fmt.Sprintf(`{"key":"%d/temperature"}`, i); counts[k] != 2 {
				t.Fatalf("kept inputs changed: %d of %s in %v", counts[k], k, counts)
			}
		}
	})
	t.Run("error names kept by a hook", func(t *testing.T) {
		// A StateDone hook may keep an error's name (a metric label):
		// a Fail state's ErrorPath and CausePath values are copied out
		// of the execution's memory and of the leased input's.
		var names []string
		wf := mustCompile(t, releaseDef, compile.Options{Invoker: siteResult, Hooks: express.Hooks{
			StateDone: func(_ *express.Workflow, _ *express.State, err *express.Error) {
				if err != nil {
					names = append(names, err.Name, err.Cause) // as they are
				}
			}}})
		var p jsonv.Parser
		for i := 0; i < 100; i++ {
			in, l, err := p.ParseLeased(fmt.Appendf(nil, `{"id":"e%03d","t":"temperature","v":-1}`, i))
			if err != nil {
				t.Fatal(err)
			}
			r := wf.Execute(context.Background(), in, rawOpts)
			if r.Release() {
				l.Release()
			}
		}
		for i := 0; i+1 < len(names); i += 2 {
			if n, c := names[i], names[i+1]; n != fmt.Sprintf("e%03d", i/2) || c != n+"/temperature" {
				t.Fatalf("kept error %d changed: %q %q", i/2, n, c)
			}
		}
		if len(names) != 200 {
			t.Fatalf("%d errors seen", len(names))
		}
	})
	t.Run("error from an objects invoker", func(t *testing.T) {
		// A resource that takes the engine's objects may build its error
		// from the request's values: the engine copies its strings.
		failing := objectsInvoker{func(_ context.Context, r *express.TaskRequest) (any, error) {
			key, _ := r.Input.(*jsonv.Object).Get("key")
			return nil, express.NewError(key.(string), key.(string))
		}}
		var names []string
		wf := mustCompile(t, releaseDef, compile.Options{Invoker: failing, Hooks: express.Hooks{
			TaskDone: func(_ *express.Workflow, _, _ string, _ time.Duration, err *express.Error) {
				names = append(names, err.Name)
			}}})
		var p jsonv.Parser
		var results []express.Result
		for i := 0; i < 100; i++ {
			in, l, _ := p.ParseLeased(fmt.Appendf(nil, `{"id":"e%03d","t":"temperature","v":1}`, i))
			r := wf.Execute(context.Background(), in, rawOpts)
			results = append(results, r)
			if r.Release() {
				l.Release()
			}
		}
		for i, r := range results {
			want := fmt.Sprintf("e%03d/temperature", i)
			if r.Status != express.Failed || r.Error != want || r.Cause != want || names[i] != want {
				t.Fatalf("error %d changed: %s %q %q, hook %q", i, r.Status, r.Error, r.Cause, names[i])
			}
		}
	})
	t.Run("hand-built machine", func(t *testing.T) {
		// A hand-built state may keep what it reads (Machine.KeepsNoValues
		// is false): Release hands nothing back, and the input is not
		// released either.
		var kept []string
		wf := express.NewWorkflow(&express.Machine{States: []*express.State{{Name: "Keep", Type: "Task",
			Exec: func(_ *express.Scope, in any) (any, int, error) {
				id, _ := in.(*jsonv.Object).Get("id")
				kept = append(kept, id.(string))
				return in, express.End, nil
			}}}}, express.Options{})
		var p jsonv.Parser
		for i := 0; i < 100; i++ {
			in, l, err := p.ParseLeased(fmt.Appendf(nil, `{"id":"e%03d"}`, i))
			if err != nil {
				t.Fatal(err)
			}
			r := wf.Execute(context.Background(), in, rawOpts)
			if r.Status != express.Succeeded {
				t.Fatal(r.Error, r.Cause)
			}
			if r.Release() {
				l.Release()
				t.Fatal("Release says nothing else held a hand-built machine's values")
			}
		}
		for i, id := range kept {
			if want := fmt.Sprintf("e%03d", i); id != want {
				t.Fatalf("kept input %d changed: %q, want %q", i, id, want)
			}
		}
	})
	t.Run("hook", func(t *testing.T) {
		wf := mustCompile(t, releaseDef, compile.Options{Invoker: siteResult, Hooks: hooks})
		r := wf.Execute(context.Background(), releaseInput(t, "h", 1), rawOpts)
		if len(hooked) != 1 || hooked[0].Output != nil || hooked[0].Release() {
			t.Fatalf("hook saw %d results", len(hooked))
		}
		for i := 0; i < 50; i++ { // the hook's Release handed nothing back
			r2 := wf.Execute(context.Background(), releaseInput(t, "x", 2), rawOpts)
			if outputObject(t, &r2) == outputObject(t, &r) {
				t.Fatal("memory in use handed to another execution")
			}
		}
		if got := string(jsonv.AppendJSON(nil, r.Output)); got != wantOutput("h", 1) {
			t.Fatalf("output changed: %s", got)
		}
		r.Release()
	})
}
