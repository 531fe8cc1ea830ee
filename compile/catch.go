package compile

import (
	"time"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// retryCatch compiles the Retry and Catch lists of Task, Parallel and Map.
func (sc *stateCompiler) retryCatch(fl flow) {
	c := sc.c
	if v, ok := sc.obj["Retry"]; ok {
		arr, isArr := v.([]any)
		if !isArr {
			c.problem(sc.field("Retry"), "Retry must be an array of retriers")
		}
		for i, rv := range arr {
			rptr := diag.Pointer(sc.ptr, "Retry", itoa(i))
			obj, ok := rv.(map[string]any)
			if !ok {
				c.problem(rptr, "a retrier must be an object with ErrorEquals")
				continue
			}
			c.allowed(obj, rptr, fieldSet("ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"))
			r := express.Retrier{Interval: time.Second, MaxAttempts: 3, BackoffRate: 2}
			r.ErrorEquals = c.errorEquals(obj, rptr, i == len(arr)-1)
			if v, ok := obj["IntervalSeconds"]; ok {
				if n, ok := c.posInt(v, diag.Pointer(rptr, "IntervalSeconds")); ok {
					r.Interval = time.Duration(n) * time.Second
				}
			}
			if v, ok := obj["MaxAttempts"]; ok {
				if n, ok := c.nonNegInt(v, diag.Pointer(rptr, "MaxAttempts")); ok {
					r.MaxAttempts = int(min(n, 99999999))
				}
			}
			if v, ok := obj["BackoffRate"]; ok {
				if f, ok := jsonv.Number(v); !ok || f < 1 {
					c.problem(diag.Pointer(rptr, "BackoffRate"), "BackoffRate must be a number of at least 1.0, not %s", describe(v))
				} else {
					r.BackoffRate = f
				}
			}
			if v, ok := obj["MaxDelaySeconds"]; ok {
				if n, ok := c.posInt(v, diag.Pointer(rptr, "MaxDelaySeconds")); ok {
					r.MaxDelay = time.Duration(n) * time.Second
				}
			}
			if v, ok := obj["JitterStrategy"]; ok {
				switch v {
				case "FULL":
					r.FullJitter = true
				case "NONE":
				default:
					c.problem(diag.Pointer(rptr, "JitterStrategy"), "JitterStrategy must be \"FULL\" or \"NONE\", not %s", describe(v))
				}
			}
			sc.st.Retry = append(sc.st.Retry, r)
		}
	}
	if v, ok := sc.obj["Catch"]; ok {
		arr, isArr := v.([]any)
		if !isArr {
			c.problem(sc.field("Catch"), "Catch must be an array of catchers")
		}
		for i, cv := range arr {
			cptr := diag.Pointer(sc.ptr, "Catch", itoa(i))
			obj, ok := cv.(map[string]any)
			if !ok {
				c.problem(cptr, "a catcher must be an object with ErrorEquals and Next")
				continue
			}
			c.allowed(obj, cptr, fieldSet(append([]string{"ErrorEquals", "Next", "Comment"}, fl.fields("Catch")...)...))
			ct := express.Catcher{ErrorEquals: c.errorEquals(obj, cptr, i == len(arr)-1), Next: express.End}
			if n, ok := obj["Next"]; ok {
				ct.Next = sc.b.target(sc.i, n, diag.Pointer(cptr, "Next"))
			} else {
				c.shape(cptr, "a catcher needs Next: the state to go to when it catches")
			}
			sc.model().Catch = append(sc.model().Catch, CatchModel{ErrorEquals: ct.ErrorEquals, Next: ct.Next, Pointer: cptr})
			ct.Apply = fl.catcher(sc, obj, cptr)
			sc.st.Catch = append(sc.st.Catch, ct)
		}
	}
	sc.model().Retry = sc.st.Retry
}

func (c *compiler) errorEquals(obj map[string]any, ptr string, last bool) []string {
	v, ok := obj["ErrorEquals"]
	fptr := diag.Pointer(ptr, "ErrorEquals")
	if !ok {
		c.problem(ptr, "ErrorEquals is missing: list the error names to match, e.g. [\"States.ALL\"]")
		return nil
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		c.problem(fptr, "ErrorEquals must be a non-empty array of error names")
		return nil
	}
	names := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			c.problem(diag.Pointer(fptr, itoa(i)), "error names must be strings")
			continue
		}
		if s == express.ErrALL {
			if len(arr) != 1 {
				c.problem(diag.Pointer(fptr, itoa(i)), "States.ALL must appear alone in its ErrorEquals")
			}
			if !last {
				c.problem(diag.Pointer(fptr, itoa(i)), "the States.ALL entry must be the last one: entries after it can never match")
			}
		}
		names = append(names, s)
	}
	return names
}
