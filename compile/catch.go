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
	sc.eachObject("Retry", "Retry must be an array of retriers", "a retrier must be an object with ErrorEquals", func(obj map[string]any, rptr string, last bool) {
		c.allowed(obj, rptr, fieldSet("ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"))
		r := express.Retrier{Interval: time.Second, MaxAttempts: 3, BackoffRate: 2}
		r.ErrorEquals = c.errorEquals(obj, rptr, last)
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
	})
	sc.eachObject("Catch", "Catch must be an array of catchers", "a catcher must be an object with ErrorEquals and Next", func(obj map[string]any, cptr string, last bool) {
		c.allowed(obj, cptr, fieldSet(append([]string{"ErrorEquals", "Next", "Comment"}, fl.fields("Catch")...)...))
		ct := express.Catcher{ErrorEquals: c.errorEquals(obj, cptr, last), Next: express.End}
		if n, ok := obj["Next"]; ok {
			ct.Next = sc.b.target(sc.i, n, diag.Pointer(cptr, "Next"))
		} else {
			c.shape(cptr, "a catcher needs Next: the state to go to when it catches")
		}
		sc.model().Catch = append(sc.model().Catch, CatchModel{ErrorEquals: ct.ErrorEquals, Next: ct.Next, Pointer: cptr})
		ct.Apply = fl.catcher(sc, obj, cptr)
		sc.st.Catch = append(sc.st.Catch, ct)
	})
	sc.model().Retry = sc.st.Retry
}

// eachObject calls f with each element of the array field (Retry, Catch),
// its JSON pointer and whether it is the last; a field that is not an
// array, or an element that is not an object, is a problem (notArray,
// notObject) instead.
func (sc *stateCompiler) eachObject(field, notArray, notObject string, f func(obj map[string]any, ptr string, last bool)) {
	v, ok := sc.obj[field]
	if !ok {
		return
	}
	arr, isArr := v.([]any)
	if !isArr {
		sc.c.problem(sc.field(field), "%s", notArray)
	}
	for i, e := range arr {
		ptr := diag.Pointer(sc.ptr, field, itoa(i))
		if obj, ok := e.(map[string]any); ok {
			f(obj, ptr, i == len(arr)-1)
		} else {
			sc.c.problem(ptr, "%s", notObject)
		}
	}
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
