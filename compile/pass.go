package compile

import "github.com/stepstream/express/express"

// pass compiles a Pass state: its result is its Result, or its effective
// input.
func (sc *stateCompiler) pass() {
	fl := sc.newFlow()
	sc.allow(fl.fields("Pass"), "Next", "End")
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	fl.compile(sc, ioFields{input: true, params: true, resultPath: true, output: true, assign: true})
	result, hasResult := sc.obj["Result"]
	if hasResult {
		fl.setResult(resultLiteral, result)
	} else {
		fl.setResult(resultEffective, nil)
	}
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		var res any
		if hasResult {
			res = result
		} else {
			eff, err := fl.effective(s, in)
			if err != nil {
				return nil, 0, err
			}
			res = eff
		}
		out, err := fl.finish(s, in, res)
		return out, next, err
	}
}
