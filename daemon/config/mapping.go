package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stepstream/express/compile"
	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/resources"
)

// CheckMappings checks a definition's Task states (compile.Tasks) against
// the resource mappings routes (as given to resources.New) and the
// Resources built from them:
//
//   - an error for each Task whose call finds no target before it runs:
//     a plain Resource that is not mapped (at /States/…/Resource), or an
//     integration whose parameters name an unmapped target, e.g. the
//     FunctionName of arn:aws:states:::lambda:invoke (at
//     /States/…/Parameters/FunctionName), with a "did you mean" among the
//     mapped names;
//   - a warning for each mapping no Task uses (at /KEY, a pointer into the
//     mapping table), with a "did you mean" among the names the Tasks use.
//
// skip, when set, says which Task states need no mapping (a test case's
// mocked states). Pointers are the definition's; callers prefix them.
func CheckMappings(tasks []compile.TaskRef, routes map[string][]resources.Target, res *resources.Resources, skip func(state string) bool) (errs, warnings diag.Problems) {
	keys := slices.Sorted(maps.Keys(routes))
	var used []string // names the Tasks use, for suggestions
	dynamic := false  // a Task names its target at run time: any key may be it
	for _, t := range tasks {
		if t.Resource == "" {
			continue
		}
		integ := resources.IntegrationOf(t.Resource)
		field, name, named := resources.NamedTarget(t.Resource, t.Params)
		switch {
		case integ == "":
			used = append(used, t.Resource)
		case named:
			used = append(used, name, integ)
		default:
			used = append(used, integ)
			dynamic = dynamic || integ != resources.HTTPInvoke
		}
		if skip != nil && skip(t.State) {
			continue
		}
		switch {
		case integ == "":
			if err := res.CheckResource(t.Resource); err != nil {
				errs.Add(diag.Pointer(t.Pointer, "Resource"), err.Error()+suggestion(t.Resource, keys))
			}
		case named:
			if err := res.CheckNamed(t.Resource, name); err != nil {
				errs.Add(diag.Pointer(t.Pointer, t.ParamsField, field), err.Error()+suggestion(name, keys))
			}
		default:
			if err := res.CheckResource(t.Resource); err != nil {
				errs.Add(diag.Pointer(t.Pointer, "Resource"), err.Error())
			}
		}
	}
	for _, k := range keys {
		if mappingUsed(k, routes[k], tasks) || (dynamic && resources.IntegrationOf(k) == "") {
			continue
		}
		warnings.Warn(diag.Pointer("", k), "no Task uses this mapping"+suggestion(k, used))
	}
	return errs, warnings
}

// mappingUsed reports whether a Task would call the mapping k: a
// Resources holding only k serves one of them.
func mappingUsed(k string, targets []resources.Target, tasks []compile.TaskRef) bool {
	only, err := resources.New(resources.Config{Routes: map[string][]resources.Target{k: targets}})
	if err != nil {
		return true // reported where the mapping is parsed
	}
	for _, t := range tasks {
		integ := resources.IntegrationOf(t.Resource)
		if integ == "" {
			if t.Resource != "" && only.CheckResource(t.Resource) == nil {
				return true
			}
			continue
		}
		if integ == k {
			return true
		}
		if _, name, ok := resources.NamedTarget(t.Resource, t.Params); ok && only.CheckNamed(t.Resource, name) == nil {
			return true
		}
	}
	return false
}

// suggestion is ` (did you mean "X"?)` for the candidate closest to name,
// compared whole and by their last segments (a function's name in its
// ARN), or "" when none is close.
func suggestion(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range slices.Compact(slices.Sorted(slices.Values(candidates))) {
		if c == name {
			continue
		}
		d := diag.Distance(name, c)
		if ln, lc := lastName(name), lastName(c); ln != "" && lc != "" {
			d = min(d, diag.Distance(ln, lc))
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(lastName(best))/4) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// lastName is what follows the last ':' or '/' of an ARN or URL.
func lastName(s string) string {
	return s[strings.LastIndexAny(s, ":/")+1:]
}
