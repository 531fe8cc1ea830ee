package compile

import (
	"math"
	"sync"
	"unicode"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/express"
	"github.com/stepstream/express/internal/jsonv"
)

// defaultInlineConcurrency bounds the goroutines of a Map without
// MaxConcurrency (AWS runs at most 40 inline iterations at once).
const defaultInlineConcurrency = 40

// maxMapItems bounds the items one Map state may iterate over in process.
const maxMapItems = 100000

// mapState compiles a Map state: its item processor runs once per item of
// its effective input (or of what ItemsPath or Items select), and its
// result is the array of their outputs. It reports whether an iteration
// may block.
func (sc *stateCompiler) mapState() bool {
	c := sc.c
	fl := sc.newFlow()
	sc.allow(fl.fields("Map"), "ItemProcessor", "Iterator", "ItemSelector", "MaxConcurrency", "Next", "End", "Retry", "Catch",
		"ToleratedFailureCount", "ToleratedFailurePercentage", "Label", "ItemReader", "ResultWriter", "ItemBatcher")
	next := sc.b.transition(sc.i, sc.obj, sc.ptr)
	// In JSONPath, the Map's Parameters is the legacy name of ItemSelector,
	// so the data flow must not apply it to the whole input.
	fl.compile(sc, ioFields{input: true, resultSel: true, resultPath: true, output: true, assign: true})
	fl.setOwnership(ownership{inputKept: true})

	procField := "ItemProcessor"
	procV, hasProc := sc.obj["ItemProcessor"]
	if itv, hasIt := sc.obj["Iterator"]; hasIt {
		if hasProc {
			c.problem(sc.ptr, "ItemProcessor and Iterator cannot both be set: Iterator is the older name, keep ItemProcessor")
		}
		procV, procField, hasProc = itv, "Iterator", true
	}
	distributed := false
	var body *express.Machine
	if !hasProc {
		c.shape(sc.ptr, "a Map state needs ItemProcessor: the state machine to run for each item")
	} else if proc, ok := procV.(map[string]any); !ok {
		c.shape(sc.field(procField), "%s must be an object with StartAt and States", procField)
	} else {
		pptr := sc.field(procField)
		c.allowed(proc, pptr, fieldSet("StartAt", "States", "Comment", "ProcessorConfig", "QueryLanguage"))
		if cfgV, ok := proc["ProcessorConfig"]; ok {
			cfg, ok := cfgV.(map[string]any)
			if !ok {
				c.problem(diag.Pointer(pptr, "ProcessorConfig"), "ProcessorConfig must be an object")
			} else {
				cptr := diag.Pointer(pptr, "ProcessorConfig")
				c.allowed(cfg, cptr, fieldSet("Mode", "ExecutionType"))
				switch cfg["Mode"] {
				case nil, "INLINE":
				case "DISTRIBUTED":
					distributed = true
				default:
					c.problem(diag.Pointer(cptr, "Mode"), "Mode must be \"INLINE\" or \"DISTRIBUTED\", not %s", describe(cfg["Mode"]))
				}
				if et, ok := cfg["ExecutionType"]; ok && et != "STANDARD" && et != "EXPRESS" {
					c.problem(diag.Pointer(cptr, "ExecutionType"), "ExecutionType must be \"STANDARD\" or \"EXPRESS\"")
				}
			}
		}
		lang := c.innerLang(proc, pptr, sc.lang)
		kind := scopeMap
		if distributed {
			kind = scopeDistributedMap
		}
		var mm *MachineModel
		body, mm = c.machine(proc, pptr, lang, kind)
		sc.model().Branches = []*MachineModel{mm}
	}
	batcher := sc.itemBatcher(fl)
	for _, f := range []string{"ItemReader", "ResultWriter"} {
		if _, ok := sc.obj[f]; ok {
			c.problem(sc.field(f), "%s reads or writes S3 objects through AWS and is not available here: pass the items in the state input (ItemsPath/Items)", f)
		}
	}
	if v, ok := sc.obj["Label"]; ok {
		if s, ok := c.str(v, sc.field("Label")); ok {
			if msg := checkLabel(s); msg != "" {
				c.problem(sc.field("Label"), "%s", msg)
			}
		}
	}

	items := fl.items(sc)
	selector := fl.itemSelector(sc)
	maxConc := fl.number(sc, "MaxConcurrency", true)
	if maxConc.literal() && maxConc.lit < 0 {
		c.problem(sc.field("MaxConcurrency"), "MaxConcurrency must not be negative")
	}
	tolCount := fl.number(sc, "ToleratedFailureCount", true)
	tolPct := fl.number(sc, "ToleratedFailurePercentage", false)
	// AWS accepts the tolerated-failure fields on an inline Map too (an
	// inline Map fails on its first failed iteration whatever they say).
	if tolCount.literal() && tolCount.lit < 0 {
		c.problem(sc.field("ToleratedFailureCount"), "ToleratedFailureCount must not be negative")
	}
	if tolPct.literal() && (tolPct.lit < 0 || tolPct.lit > 100) {
		c.problem(sc.field("ToleratedFailurePercentage"), "ToleratedFailurePercentage must be between 0 and 100")
	}
	sc.retryCatch(fl)
	blocking := body != nil && body.Blocking
	sc.st.Exec = func(s *express.Scope, in any) (any, int, error) {
		eff, err := fl.effective(s, in)
		if err != nil {
			return nil, 0, err
		}
		arr, err := items(s, in, eff)
		if err != nil {
			return nil, 0, err
		}
		if len(arr) > maxMapItems {
			return nil, 0, s.Runtime("Map state input has %d items, more than the %d one Map state may iterate over in process", len(arr), maxMapItems)
		}
		mc, err := maxConc.value(s, eff)
		if err != nil {
			return nil, 0, err
		}
		if mc < 0 {
			return nil, 0, s.Runtime("MaxConcurrency cannot be negative.")
		}
		tolerated := 0
		if distributed {
			tc, err := tolCount.value(s, eff)
			if err != nil {
				return nil, 0, err
			}
			if tc < 0 {
				return nil, 0, s.Runtime("ToleratedFailureCount cannot be negative.")
			}
			tp, err := tolPct.value(s, eff)
			if err != nil {
				return nil, 0, err
			}
			if tp < 0 || tp > 100 {
				return nil, 0, s.Runtime("ToleratedFailurePercentage must be between 0 and 100.")
			}
			tolerated = int(min(tc, float64(math.MaxInt32)))
			if tolPct.has {
				byPct := int(math.Floor(tp / 100 * float64(len(arr))))
				if !tolCount.has || byPct > tolerated {
					tolerated = byPct
				}
			}
		}
		sel := selector
		if batcher != nil {
			if arr, err = batcher.batches(s, arr, eff, selector); err != nil {
				return nil, 0, err
			}
			sel = nil
		}
		s.MapStarted(len(arr))
		outs, err := runIterations(s, body, arr, eff, sel, int(mc), blocking, distributed, tolerated)
		if err != nil {
			s.StateEvent("MapStateFailed")
			return nil, 0, err
		}
		s.StateEvent("MapStateSucceeded")
		out, err := fl.finish(s, in, outs)
		return out, next, err
	}
	return blocking
}

// itemBatcher is a compiled ItemBatcher: items are grouped into batches and
// each iteration gets {"Items": [...], "BatchInput": ...}.
type itemBatcher struct {
	maxItems, maxBytes numberField
	batchInput         valueFn
}

func (sc *stateCompiler) itemBatcher(fl flow) *itemBatcher {
	c := sc.c
	v, ok := sc.obj["ItemBatcher"]
	if !ok {
		return nil
	}
	obj, ok := v.(map[string]any)
	ptr := sc.field("ItemBatcher")
	if !ok {
		c.problem(ptr, "ItemBatcher must be an object")
		return nil
	}
	c.allowed(obj, ptr, fieldSet("MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", "BatchInput"))
	inner := &stateCompiler{b: sc.b, c: c, i: sc.i, name: sc.name, obj: obj, ptr: ptr, lang: sc.lang, st: sc.st}
	ib := &itemBatcher{
		maxItems: fl.number(inner, "MaxItemsPerBatch", true),
		maxBytes: fl.number(inner, "MaxInputBytesPerBatch", true),
	}
	if !ib.maxItems.has && !ib.maxBytes.has {
		c.problem(ptr, "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path forms)")
	}
	if bi, ok := obj["BatchInput"]; ok {
		ib.batchInput = fl.value(inner, bi, "ItemBatcher/BatchInput", diag.Pointer(ptr, "BatchInput"))
	}
	return ib
}

// batches groups the (selected) items into batch inputs.
func (ib *itemBatcher) batches(s *express.Scope, arr []any, eff any, selector valueFn) ([]any, error) {
	maxItems, err := ib.maxItems.value(s, eff)
	if err != nil {
		return nil, err
	}
	maxBytes, err := ib.maxBytes.value(s, eff)
	if err != nil {
		return nil, err
	}
	if maxItems < 0 || maxBytes < 0 {
		return nil, s.Runtime("ItemBatcher limits must not be negative")
	}
	var batchInput any
	hasInput := ib.batchInput != nil
	if hasInput {
		if batchInput, err = ib.batchInput(s, eff); err != nil {
			return nil, err
		}
	}
	var out []any
	var cur []any
	curBytes := 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		b := map[string]any{"Items": cur}
		if hasInput {
			b["BatchInput"] = batchInput
		}
		out = append(out, b)
		cur, curBytes = nil, 0
	}
	for i, item := range arr {
		if selector != nil {
			cs := s.Child()
			cs.MapItem(i, item)
			v, err := selector(cs, eff)
			if err != nil {
				return nil, err
			}
			item = v
		}
		n := express.SizeBound(item)
		if len(cur) > 0 && ((maxItems > 0 && len(cur) >= int(maxItems)) || (maxBytes > 0 && curBytes+n > int(maxBytes))) {
			flush()
		}
		cur = append(cur, item)
		curBytes += n
	}
	flush()
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// checkLabel applies AWS's rules for a distributed Map's Label.
func checkLabel(s string) string {
	if s == "" {
		return "Label must not be empty"
	}
	if len([]rune(s)) > 40 {
		return "Label must be at most 40 characters"
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || (r >= 0x7f && r <= 0x9f) {
			return "Label must not contain whitespace or control characters"
		}
		switch r {
		case '?', '*', '<', '>', '{', '}', '[', ']', ':', ';', ',', '\\', '|', '^', '~', '$', '#', '%', '&', '`', '"':
			return "Label must not contain wildcard, bracket or special characters such as " + string(r)
		}
	}
	return ""
}

// runIterations runs the item processor once per item, sequentially or on
// up to maxConc goroutines, and returns the outputs in item order.
func runIterations(s *express.Scope, body *express.Machine, arr []any, eff any,
	selector valueFn, maxConc int, blocking, distributed bool, tolerated int) ([]any, error) {
	outs := make([]any, len(arr))
	if body == nil {
		return outs, nil
	}
	one := func(i int) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = express.Errorf(express.ErrRuntime, "internal error in Map iteration %d: %v", i, p)
			}
		}()
		cs := s.Child()
		if distributed {
			cs = s.IsolatedChild()
		}
		cs.MapItem(i, arr[i])
		input := arr[i]
		if selector != nil {
			v, err := selector(cs, eff)
			if err != nil {
				return err
			}
			input = v
		}
		mapState := s.StateName()
		cs.MapIteration("Started", mapState, i)
		out, err := runBranch(cs, body, input)
		if err != nil {
			cs.MapIteration("Failed", mapState, i)
		} else {
			cs.MapIteration("Succeeded", mapState, i)
		}
		if err != nil {
			return err
		}
		outs[i] = out
		return nil
	}
	failures := 0
	var lastErr error
	record := func(err error) error {
		if err == nil {
			return nil
		}
		if express.AsError(err).Terminal() || !distributed {
			return err
		}
		failures++
		lastErr = err
		if failures > tolerated {
			return express.NewError(express.ErrExceedToleratedFailure, "The specified tolerated failure threshold was exceeded")
		}
		return nil
	}
	workers := maxConc
	if workers <= 0 || workers > defaultInlineConcurrency {
		workers = defaultInlineConcurrency
	}
	if !blocking || workers == 1 || len(arr) < 2 {
		for i := range arr {
			if err := record(one(i)); err != nil {
				return nil, err
			}
		}
		_ = lastErr
		return outs, nil
	}
	var mu sync.Mutex
	var stop error
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := range arr {
		mu.Lock()
		stopped := stop != nil
		mu.Unlock()
		if stopped {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := one(i)
			mu.Lock()
			if e := record(err); e != nil && stop == nil {
				stop = e
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if stop != nil {
		return nil, stop
	}
	return outs, nil
}

// mapItems checks that what a Map iterates over is an array; errName is
// the error the query language reports when it is not.
func mapItems(s *express.Scope, list any, errName string) ([]any, error) {
	arr, ok := list.([]any)
	if !ok {
		return nil, s.StateError(errName, "Map state input must be an array but was: %s", jsonv.Marshal(list))
	}
	return arr, nil
}

// literalNumber compiles a literal number (an integer when integer is set).
func (sc *stateCompiler) literalNumber(field string, v any, integer bool) numberField {
	f, ok := jsonv.Number(v)
	if !ok || (integer && f != math.Trunc(f)) {
		kind := "a number"
		if integer {
			kind = "an integer"
		}
		sc.c.problem(sc.field(field), "%s must be %s, not %s", field, kind, describe(v))
		return numberField{}
	}
	return numberField{lit: f, has: true}
}
