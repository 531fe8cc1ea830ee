package testcase

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stepstream/express/internal/testutil"
)

// TestHistoryEveryCase runs every conformance and example case with its
// history recorded and checks that recording changes nothing (status,
// output, error and cause, whose "entered at the event id #N" counts the
// same events) and that the history follows AWS's rules: ids from 1 without
// gaps, ExecutionStarted first and the execution's end last, every
// previousEventId an earlier event, every StateEntered with its
// StateExited in an execution where nothing failed.
func TestHistoryEveryCase(t *testing.T) {
	if _, err := os.Stat(conformanceDir); err != nil {
		testutil.Missing(t, "conformance cases not found at %s (../shared is absent): %v", conformanceDir, err)
	}
	files, err := Collect([]string{conformanceDir, "../examples"})
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			continue // the mock configuration file; TestConformance reports the others
		}
		// one clock start for both runs: causes may quote the context
		// object's times
		start := time.Now().UTC().Truncate(time.Millisecond)
		off := c.RunWith(context.Background(), RunOptions{Start: start})
		on := c.RunWith(context.Background(), RunOptions{History: true, Start: start})
		if c.Expect.Status == "INVALID" {
			continue
		}
		ran++
		a, b := off.Result, on.Result
		if a.Status != b.Status || a.Error != b.Error || a.Cause != b.Cause || off.Passed != on.Passed {
			t.Errorf("%s: with history %s %s %q, without %s %s %q", c.Name, b.Status, b.Error, b.Cause, a.Status, a.Error, a.Cause)
			continue
		}
		ev := on.History.Events()
		if len(ev) < 2 || ev[0].Type != "ExecutionStarted" || !strings.HasPrefix(ev[len(ev)-1].Type, "Execution") {
			t.Errorf("%s: history starts with %v and ends with %v", c.Name, ev[0].Type, ev[len(ev)-1].Type)
			continue
		}
		open, failed := map[string]int{}, false
		for i, e := range ev {
			if e.ID != int64(i+1) {
				t.Errorf("%s: event %d has id %d", c.Name, i+1, e.ID)
				break
			}
			if i > 0 && (e.PreviousEventID < 1 || e.PreviousEventID >= e.ID) {
				t.Errorf("%s: event %d (%s) has previousEventId %d", c.Name, e.ID, e.Type, e.PreviousEventID)
				break
			}
			switch {
			case strings.HasSuffix(e.Type, "Failed"):
				failed = true
			case strings.HasSuffix(e.Type, "StateEntered") && e.Type != "FailStateEntered":
				open[e.Details.Name]++
			case strings.HasSuffix(e.Type, "StateExited"):
				open[e.Details.Name]--
			}
		}
		unclosed := 0
		for _, n := range open {
			unclosed += n
		}
		// A state that fails has no StateExited event (AWS's rule), even
		// when a Catch further out handles the failure.
		if b.Status == "SUCCEEDED" && !failed && unclosed != 0 {
			t.Errorf("%s: succeeded with %d states entered and not exited", c.Name, unclosed)
		}
	}
	if ran < 100 {
		t.Fatalf("only %d cases ran", ran)
	}
}
