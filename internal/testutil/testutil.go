// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writes and reads: the
// output of a daemon or command that a test reads while it runs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// KnownFailures reads a list of test cases expected to fail: one
// "case-name reason" per line; blank lines and # comments are skipped. A
// missing file is an empty list.
func KnownFailures(path string) map[string]string {
	known := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return known
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, " ")
		known[name] = strings.TrimSpace(reason)
	}
	return known
}

// Missing reports that something a test needs is absent (../shared, a
// tool such as prometheus or kcat): the test is skipped on a developer's
// machine, and fails when the CI environment variable is set, so that CI
// can never pass by skipping (.ci/run sets CI=true and installs the tools).
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("required for CI: "+format, args...)
	}
	tb.Skipf(format, args...)
}
