package compile

import (
	"time"

	"github.com/stepstream/express/express"
)

// wait compiles a Wait state: it sleeps on the execution's clock until
// Seconds have passed or Timestamp is reached, then passes its input on.
func (sc *stateCompiler) wait() {
	c := sc.c
	fl := sc.newFlow()
	sc.allow(fl.fields("Wait"), "Seconds", "Timestamp", "Next", "End")
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	fl.compile(sc, ioFields{input: true, output: true, assign: true})
	fl.setOwnership(ownership{passThrough: true})
	sc.st.SubValue = fl.passesInput()
	n := 0
	for _, f := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if _, ok := sc.obj[f]; ok {
			n++
		}
	}
	if n != 1 {
		c.problem(sc.ptr, "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath")
	}
	// until computes when the wait ends.
	until := fl.waitUntil(sc)
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		if until != nil {
			t, err := until(s, in)
			if err != nil {
				return nil, 0, err
			}
			if d := t.Sub(s.Execution().Now()); d > 0 {
				if e := s.Sleep(d); e != nil {
					return nil, 0, e
				}
			}
		}
		out, err := fl.finish(s, in, eff)
		return out, next, err
	}
}

// literalWaitSeconds compiles a literal number of seconds to wait.
func (sc *stateCompiler) literalWaitSeconds(v any) timeFn {
	secs, ok := sc.c.nonNegInt(v, sc.field("Seconds"))
	if !ok {
		return nil
	}
	d := time.Duration(secs) * time.Second
	return func(s *express.Scope, _ any) (time.Time, error) { return s.Execution().Now().Add(d), nil }
}

// literalTimestamp compiles a literal time to wait for.
func (sc *stateCompiler) literalTimestamp(str string) timeFn {
	t, ok := parseTimestamp(str)
	if !ok {
		sc.c.problem(sc.field("Timestamp"), "%q is not an ISO-8601 extended offset date-time such as 2016-03-14T01:59:00Z", str)
	}
	return func(*express.Scope, any) (time.Time, error) { return t, nil }
}
