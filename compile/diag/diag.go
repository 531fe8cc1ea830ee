// Package diag holds the problems a definition check reports: each one names
// the JSON pointer of the offending field and says what to do.
package diag

import (
	"sort"
	"strings"
)

// Severity says whether a problem rejects the definition.
type Severity int

const (
	// Error rejects the definition (the zero value).
	Error Severity = iota
	// Warning points at something that is valid (AWS accepts it) but
	// almost certainly wrong, such as a loop of states with no way out.
	Warning
)

// Problem is one thing wrong with a definition.
type Problem struct {
	// Pointer is the JSON pointer (RFC 6901) of the offending field, e.g.
	// "/States/Route/Choices/2/Next".
	Pointer  string
	Message  string
	Severity Severity
}

func (p Problem) String() string {
	msg := p.Message
	if p.Severity == Warning {
		msg = "warning: " + msg
	}
	if p.Pointer == "" {
		return "/: " + msg
	}
	return p.Pointer + ": " + msg
}

// Problems is every problem found in a definition. It is an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sorted returns the problems ordered by pointer (stable for equal ones).
func (ps Problems) Sorted() Problems {
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return out
}

// Add appends a problem (an error).
func (ps *Problems) Add(pointer, msg string) {
	*ps = append(*ps, Problem{Pointer: pointer, Message: msg})
}

// Warn appends a warning.
func (ps *Problems) Warn(pointer, msg string) {
	*ps = append(*ps, Problem{Pointer: pointer, Message: msg, Severity: Warning})
}

// Errors returns the problems that are errors, nil when there are none:
// a definition is valid when its Problems have no Errors.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == Error {
			out = append(out, p)
		}
	}
	return out
}

// Pointer joins a JSON pointer and more tokens, escaping ~ and / in them.
func Pointer(base string, tokens ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

// Distance is the Levenshtein distance between a and b (in bytes), used to
// suggest the name a user probably meant. Long inputs (over 64 bytes) are
// not compared: they return a large distance at once.
func Distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
