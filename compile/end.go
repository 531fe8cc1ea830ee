package compile

import (
	"strings"

	"github.com/stepstream/express/express"
)

// succeed compiles a Succeed state: the execution (or branch) ends with
// its input.
func (sc *stateCompiler) succeed() {
	fl := sc.newFlow()
	sc.allow(fl.fields("Succeed"))
	fl.compile(sc, ioFields{input: true, output: true})
	fl.setOwnership(ownership{passThrough: true})
	sc.st.SubValue = fl.passesInput()
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		out, err := fl.finish(s, in, eff)
		return out, express.End, err
	}
}

// fail compiles a Fail state: the execution (or branch) fails with its
// Error and Cause.
func (sc *stateCompiler) fail() {
	fl := sc.newFlow()
	sc.allow(fl.fields("Fail"), "Error", "Cause")
	errFn, errConst := fl.failField(sc, "Error")
	causeFn, causeConst := fl.failField(sc, "Cause")
	sc.st.ExitEvents = 0
	if errConst && causeConst {
		// the same error in every execution: built once (the engine only
		// reads an *express.Error), no allocation per failed execution
		e := &express.Error{}
		if errFn != nil {
			e.Name, _ = errFn(nil, nil)
		}
		if causeFn != nil {
			e.Cause, _ = causeFn(nil, nil)
			e.HasCause = true
		}
		sc.st.Exec = func(*express.Scope, any) (any, int, error) { return nil, 0, e }
		return
	}
	// An error outlives its execution (Result.Error and Cause, hooks that
	// keep error names as metric labels): its strings are copies, never
	// the input's or the execution's memory, which Result.Release and
	// jsonv.Lease hand out again.
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		e := &express.Error{}
		if errFn != nil {
			v, err := errFn(s, in)
			if err != nil {
				return nil, 0, err
			}
			e.Name = strings.Clone(v)
		}
		if causeFn != nil {
			v, err := causeFn(s, in)
			if err != nil {
				return nil, 0, err
			}
			e.Cause, e.HasCause = strings.Clone(v), true
		}
		return nil, 0, e
	}
}
