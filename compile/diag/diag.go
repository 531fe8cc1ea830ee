// Package diag holds the problems a definition check reports: each one names
// the JSON pointer of the offending field and says what to do.
package diag

import (
	"sort"
	"strings"
)

// Problem is one thing wrong with a definition.
type Problem struct {
	// Pointer is the JSON pointer (RFC 6901) of the offending field, e.g.
	// "/States/Route/Choices/2/Next".
	Pointer string
	Message string
}

func (p Problem) String() string {
	if p.Pointer == "" {
		return "/: " + p.Message
	}
	return p.Pointer + ": " + p.Message
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

// Add appends a problem.
func (ps *Problems) Add(pointer, msg string) { *ps = append(*ps, Problem{pointer, msg}) }

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
