package testcase

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateHistory = flag.Bool("update-history", false, "rewrite testdata/history/*.events from the engine (check them by hand before committing)")

// TestHistoryGolden compares the histories of small executions (Pass, a
// Task with Retry, Choice, Map, Parallel with Catch) with hand-checked
// golden files: one line per event, "id previousEventId type name detail".
// Timestamps are left out (they come from the virtual clock).
func TestHistoryGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/history/*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("golden cases: %v %v", files, err)
	}
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		o := c.RunWith(context.Background(), RunOptions{History: true})
		if !o.Passed {
			t.Errorf("%s: %s", f, o.Problem)
		}
		var b strings.Builder
		for _, e := range o.History.Events() {
			fmt.Fprintf(&b, "%d %d %s", e.ID, e.PreviousEventID, e.Type)
			if d := e.Details; d != nil {
				for _, kv := range [][2]string{{"name", d.Name}, {"resourceType", d.ResourceType}, {"resource", d.Resource}, {"error", deref(d.Error)}, {"input", deref(d.Input)}, {"parameters", deref(d.Parameters)}, {"output", deref(d.Output)}} {
					if kv[1] != "" {
						fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
					}
				}
				if d.Index != nil {
					fmt.Fprintf(&b, " index=%d", *d.Index)
				}
				if d.Length != nil {
					fmt.Fprintf(&b, " length=%d", *d.Length)
				}
			}
			b.WriteByte('\n')
		}
		golden := strings.TrimSuffix(f, ".json") + ".events"
		if *updateHistory {
			if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("%s: history differs from %s:\n got:\n%s\nwant:\n%s", f, golden, b.String(), want)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
