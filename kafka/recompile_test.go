package kafka

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/machtab"
	"github.com/stepstream/express/internal/machtab/machtabtest"
)

// TestStateCountsRecompiled: a workflow compiled again and again (as the
// Step Functions API does on every UpdateStateMachine, asking for its
// hooks each time) keeps one set of state counts, at most
// machtab.DefaultMax tables, and lets the old machines be collected;
// the exits still add up, also those of an execution of the first
// machine that goes on after its table was dropped.
func TestStateCountsRecompiled(t *testing.T) {
	def, err := os.ReadFile("testdata/iot-reference.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40 * machtab.DefaultMax
	type run struct {
		h  express.Hooks
		wf *express.Workflow
	}
	exec := func(r *run) {
		for _, name := range iotPath {
			for _, st := range r.wf.Machine.AllStates {
				if st.Name == name {
					r.h.StateDone(r.wf, st, nil)
					break
				}
			}
		}
	}
	first, alive := machtabtest.Recompile(n, func(int) (*run, *express.Machine) {
		r := &run{h: m.Hooks("iot")}
		if r.wf, err = compile.Compile(def, compile.Options{Name: "iot", Hooks: r.h}); err != nil {
			t.Fatal(err)
		}
		exec(r)
		return r, r.wf.Machine
	})
	exec(first) // its table was dropped long ago
	if len(m.states) != 1 {
		t.Errorf("%d state counts for one workflow", len(m.states))
	}
	if kept, made := m.states["iot"].tabs.Len(); kept > machtab.DefaultMax || made < n {
		t.Errorf("tables kept %d, made %d; want at most %d kept", kept, made, machtab.DefaultMax)
	}
	if alive > machtab.DefaultMax {
		t.Errorf("%d of %d old machines still reachable; want at most %d", alive, n-1, machtab.DefaultMax)
	}
	text := gatherText(t, reg)
	for _, name := range iotPath {
		want := fmt.Sprintf("express_state_exits_total{state=%q,workflow=\"iot\"} %d\n", name, n+1)
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
