package console

import (
	"os"
	"testing"
	"time"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/machtab"
	"github.com/stepstream/express/internal/machtab/machtabtest"
)

// TestEdgeCountsRecompiled: a workflow compiled again and again (as the
// Step Functions API does on every UpdateStateMachine) keeps at most
// machtab.DefaultMax edge tables and lets the old machines be collected;
// the edge counts still add up, also those of an execution of the first
// machine that goes on after its table was dropped.
func TestEdgeCountsRecompiled(t *testing.T) {
	def, err := os.ReadFile("../kafka/testdata/iot-reference.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{})
	w := c.Workflow("iot")
	path := []string{"Normalize", "Validate", "Enrich", "CheckThreshold", "Normal", "Emit", "Done"}
	type run struct {
		h  express.Hooks
		wf *express.Workflow
	}
	exec := func(r *run) {
		byName := map[string]*express.State{}
		for _, st := range r.wf.Machine.AllStates {
			byName[st.Name] = st
		}
		for i := 1; i < len(path); i++ {
			r.h.Transition(r.wf, byName[path[i-1]], byName[path[i]])
		}
	}
	const n = 40 * machtab.DefaultMax
	first, alive := machtabtest.Recompile(n, func(int) (*run, *express.Machine) {
		r := &run{h: w.Hooks(express.Hooks{})}
		if r.wf, err = compile.Compile(def, compile.Options{Name: "iot", Hooks: r.h}); err != nil {
			t.Fatal(err)
		}
		exec(r)
		return r, r.wf.Machine
	})
	exec(first) // its table was dropped long ago
	if kept, made := w.tabs.Len(); kept > machtab.DefaultMax || made < n {
		t.Errorf("tables kept %d, made %d; want at most %d kept", kept, made, machtab.DefaultMax)
	}
	if alive > machtab.DefaultMax {
		t.Errorf("%d of %d old machines still reachable; want at most %d", alive, n-1, machtab.DefaultMax)
	}
	c.Tick(time.Now())
	edges := w.Stats().Edges
	if len(edges) != len(path)-1 {
		t.Errorf("edges %v", edges)
	}
	for _, e := range edges {
		if e.Count != n+1 {
			t.Errorf("edge %s→%s: %d transitions, want %d", e.From, e.To, e.Count, n+1)
		}
	}
}
