package compile

import (
	"sync"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
)

// parallel compiles a Parallel state: its Branches run on its effective
// input, and its result is the array of their outputs. It reports whether
// a branch may block.
func (sc *stateCompiler) parallel() bool {
	c := sc.c
	fl := sc.newFlow()
	sc.allow(fl.fields("Parallel"), "Branches", "Next", "End", "Retry", "Catch")
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	fl.compile(sc, ioFields{input: true, params: true, resultSel: true, resultPath: true, output: true, assign: true})
	fl.setOwnership(ownership{inputKept: true})
	var branches []*express.Machine
	blocking := false
	arr, ok := sc.obj["Branches"].([]any)
	if !ok || len(arr) == 0 {
		c.shape(sc.ptr, "a Parallel state needs Branches: a non-empty array of state machines")
	}
	for i, bv := range arr {
		bptr := diag.Pointer(sc.ptr, "Branches", itoa(i))
		obj, ok := bv.(map[string]any)
		if !ok {
			c.shape(bptr, "a branch must be an object with StartAt and States")
			continue
		}
		c.allowed(obj, bptr, fieldSet("StartAt", "States", "Comment", "QueryLanguage"))
		m, mm := c.machine(obj, bptr, c.innerLang(obj, bptr, sc.lang), scopeParallel)
		sc.model().Branches = append(sc.model().Branches, mm)
		blocking = blocking || m.Blocking
		branches = append(branches, m)
	}
	sc.retryCatch(fl)
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		s.StateEvent("ParallelStateStarted")
		outs := make([]any, len(branches))
		if blocking && len(branches) > 1 {
			errs := make([]error, len(branches))
			var wg sync.WaitGroup
			for i, m := range branches {
				wg.Add(1)
				go func() {
					defer wg.Done()
					outs[i], errs[i] = runBranch(s.Branch(i), m, eff)
				}()
			}
			wg.Wait()
			if err := firstError(errs); err != nil {
				s.StateEvent("ParallelStateFailed")
				return nil, 0, err
			}
		} else {
			for i, m := range branches {
				if outs[i], err = runBranch(s.Branch(i), m, eff); err != nil {
					s.StateEvent("ParallelStateFailed")
					return nil, 0, err
				}
			}
		}
		s.StateEvent("ParallelStateSucceeded")
		out, err := fl.finish(s, in, outs)
		return out, next, err
	}
	return blocking
}

// runBranch runs a branch or iteration machine, turning a panic into an error.
func runBranch(s *express.Scope, m *express.Machine, in any) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = express.Errorf(express.ErrRuntime, "internal error in a branch: %v", p)
		}
	}()
	return s.Run(m, in)
}

// firstError picks the error that ends a Parallel or Map: a terminal one if
// any (the execution is over), else the first branch's.
func firstError(errs []error) error {
	var first error
	for _, e := range errs {
		if e == nil {
			continue
		}
		if express.AsError(e).Terminal() {
			return e
		}
		if first == nil {
			first = e
		}
	}
	return first
}
