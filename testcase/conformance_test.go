package testcase

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stepstream/express/internal/testutil"
)

// conformanceDir is ../shared/conformance seen from the repository root.
const conformanceDir = "../../shared/conformance"

// usesJSONata reports whether a case's definition uses the JSONata query
// language anywhere (those cases belong to the JSONata work).
func usesJSONata(c *Case) bool {
	var walk func(v any) bool
	walk = func(v any) bool {
		switch t := v.(type) {
		case map[string]any:
			if t["QueryLanguage"] == "JSONata" {
				return true
			}
			for _, e := range t {
				if walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range t {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(c.Definition)
}

// TestConformance runs every case under ../shared/conformance through the
// same code as `express test`. Every case must pass, except those listed
// with a reason in testdata/known_failures.txt, and at least 98% of the
// non-JSONata cases in any case. JSONPath and JSONata cases are counted
// separately.
func TestConformance(t *testing.T) {
	if _, err := os.Stat(conformanceDir); err != nil {
		testutil.Missing(t, "conformance cases not found at %s (../shared is absent): %v", conformanceDir, err)
	}
	files, err := Collect([]string{conformanceDir})
	if err != nil {
		t.Fatal(err)
	}
	known := testutil.KnownFailures("testdata/known_failures.txt")
	var pathPass, pathFail, ataPass, ataFail int
	var unexpected []string
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		o := c.Run(context.Background())
		ata := usesJSONata(c)
		if _, listed := known[c.Name]; listed && o.Passed {
			t.Errorf("%s passes now: remove it from testdata/known_failures.txt", c.Name)
		}
		switch {
		case o.Passed && ata:
			ataPass++
		case o.Passed:
			pathPass++
		default:
			if ata {
				ataFail++
			} else {
				pathFail++
			}
			if reason, listed := known[c.Name]; listed {
				t.Logf("known failure %s: %s", c.Name, reason)
			} else {
				unexpected = append(unexpected, filepath.Base(f)+": "+o.Problem)
			}
		}
	}
	t.Logf("JSONPath cases: %d passed, %d failed; JSONata cases: %d passed, %d failed", pathPass, pathFail, ataPass, ataFail)
	for _, u := range unexpected {
		t.Errorf("FAIL %s", u)
	}
	if total := pathPass + pathFail; total > 0 && float64(pathPass)/float64(total) < 0.98 {
		t.Errorf("only %d of %d non-JSONata cases pass (%.1f%%); at least 98%% must", pathPass, total, 100*float64(pathPass)/float64(total))
	}
}
