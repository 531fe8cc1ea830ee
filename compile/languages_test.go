package compile

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The query languages' files and what only they may use. A state-type
// file uses neither language; each language's files do not use the other.
var (
	stateTypeFiles = []string{"pass.go", "task.go", "choice.go", "wait.go", "end.go", "parallel.go", "map.go", "catch.go"}
	pathFiles      = []string{"flow_jsonpath.go", "template.go"}
	jaFiles        = []string{"flow_jsonata.go"}
	// Packages of one language.
	pathImports = []string{"github.com/stepstream/express/aslpath", "github.com/stepstream/express/compile/choice", "github.com/stepstream/express/compile/intrinsic"}
	jaImports   = []string{"github.com/stepstream/express/jsonata"}
	// Where another file may name a language: choosing the flow, reading
	// QueryLanguage (and its default), and checking variable names (ASL's
	// rule for both languages, kept with JSONPath's $var in aslpath).
	languageChoosers = []string{"newFlow", "queryLanguage", "topLanguage", "checkVarName"}
)

// side is what one query language owns: package-level names declared in
// its files (plus its queryLang constant), the methods declared there that
// are not the flow interface's, and its packages.
type side struct {
	name    string
	konst   string // its queryLang constant
	names   map[string]bool
	methods map[string]bool
	imports []string
	pkgs    map[string]bool // the imports' package names
}

// leak is a use of a language where it does not belong.
type leak struct {
	file, what string
	pos        token.Position
}

func (l leak) String() string { return l.pos.String() + ": " + l.what }

// languageLeaks checks the parsed files of the package (by base name).
func languageLeaks(fset *token.FileSet, files map[string]*ast.File) (path, ja side, leaks []leak) {
	iface := flowMethods(files)
	build := func(name string, own []string, konst string, imports []string) side {
		s := side{name: name, konst: konst, names: map[string]bool{konst: true}, methods: map[string]bool{}, imports: imports, pkgs: map[string]bool{}}
		for _, imp := range imports {
			s.pkgs[imp[strings.LastIndex(imp, "/")+1:]] = true
		}
		for _, fn := range own {
			f := files[fn]
			if f == nil {
				continue
			}
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil {
						s.names[d.Name.Name] = true
					} else if !iface[d.Name.Name] {
						s.methods[d.Name.Name] = true
					}
				case *ast.GenDecl:
					for _, sp := range d.Specs {
						switch sp := sp.(type) {
						case *ast.TypeSpec:
							s.names[sp.Name.Name] = true
						case *ast.ValueSpec:
							for _, n := range sp.Names {
								if n.Name != "_" {
									s.names[n.Name] = true
								}
							}
						}
					}
				}
			}
		}
		return s
	}
	path = build("JSONPath", pathFiles, "langJSONPath", pathImports)
	ja = build("JSONata", jaFiles, "langJSONata", jaImports)
	// A method name both declare (eval) does not tell which one is called.
	for m := range path.methods {
		if ja.methods[m] {
			delete(path.methods, m)
			delete(ja.methods, m)
		}
	}

	check := func(fn string, f *ast.File, forbidden []side, allowIn []string) {
		for _, imp := range f.Imports {
			if allowIn != nil {
				break // uses of the package are checked where they are
			}
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, s := range forbidden {
				if slices.Contains(s.imports, p) {
					leaks = append(leaks, leak{fn, "imports " + s.name + "'s package " + p, fset.Position(imp.Pos())})
				}
			}
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && slices.Contains(allowIn, fd.Name.Name) {
				continue
			}
			var visit func(n ast.Node) bool
			visit = func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					// Not its name: a method may be named like a package.
					for _, part := range []ast.Node{n.Recv, n.Type, n.Body} {
						if part != nil && !reflect.ValueOf(part).IsNil() {
							ast.Inspect(part, visit)
						}
					}
					return false
				case *ast.SelectorExpr:
					for _, s := range forbidden {
						if s.methods[n.Sel.Name] {
							leaks = append(leaks, leak{fn, "calls " + s.name + "'s method ." + n.Sel.Name, fset.Position(n.Sel.Pos())})
						}
					}
					ast.Inspect(n.X, visit)
					return false
				case *ast.KeyValueExpr:
					// A struct literal's key is a field name.
					if _, isID := n.Key.(*ast.Ident); isID {
						ast.Inspect(n.Value, visit)
						return false
					}
				case *ast.Field:
					// A struct field's or parameter's name.
					ast.Inspect(n.Type, visit)
					return false
				}
				return inspectIdent(fset, fn, n, forbidden, &leaks)
			}
			ast.Inspect(d, visit)
		}
	}
	for fn, f := range files {
		switch {
		case slices.Contains(stateTypeFiles, fn):
			check(fn, f, []side{path, ja}, nil)
		case slices.Contains(pathFiles, fn):
			check(fn, f, []side{ja}, nil)
		case slices.Contains(jaFiles, fn):
			check(fn, f, []side{path}, nil)
		default:
			check(fn, f, []side{path, ja}, languageChoosers)
		}
	}
	slices.SortFunc(leaks, func(a, b leak) int { return strings.Compare(a.String(), b.String()) })
	return path, ja, leaks
}

// inspectIdent records n when it is an identifier that a forbidden side
// owns: a name the file does not declare itself (so a package-level name
// of another file), or the side's queryLang constant wherever it is
// declared.
func inspectIdent(fset *token.FileSet, fn string, n ast.Node, forbidden []side, leaks *[]leak) bool {
	id, ok := n.(*ast.Ident)
	if !ok || (id.Obj != nil && id.Obj.Pos() == id.Pos()) {
		return true
	}
	for _, s := range forbidden {
		if id.Name == s.konst || (id.Obj == nil && s.names[id.Name]) {
			*leaks = append(*leaks, leak{fn, "uses " + s.name + "'s " + id.Name, fset.Position(id.Pos())})
		}
		if id.Obj == nil && s.pkgs[id.Name] {
			*leaks = append(*leaks, leak{fn, "uses " + s.name + "'s package " + id.Name, fset.Position(id.Pos())})
		}
	}
	return true
}

// flowMethods are the methods of the flow interface (flow.go).
func flowMethods(files map[string]*ast.File) map[string]bool {
	out := map[string]bool{}
	f := files["flow.go"]
	if f == nil {
		return out
	}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "flow" {
			return true
		}
		if it, ok := ts.Type.(*ast.InterfaceType); ok {
			for _, m := range it.Methods.List {
				for _, nm := range m.Names {
					out[nm.Name] = true
				}
			}
		}
		return false
	})
	return out
}

func parseDir(t *testing.T, fset *token.FileSet, glob string) map[string]*ast.File {
	t.Helper()
	names, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(n)] = f
	}
	return files
}

// TestLanguagesApart keeps the query languages apart: no state-type file
// mentions either language's types, functions or packages, the JSONPath
// files do not mention JSONata's and the JSONata file not JSONPath's, and
// the other files name a language only where the flow is chosen.
func TestLanguagesApart(t *testing.T) {
	fset := token.NewFileSet()
	files := parseDir(t, fset, "*.go")
	for _, fn := range slices.Concat(stateTypeFiles, pathFiles, jaFiles, []string{"flow.go"}) {
		if files[fn] == nil {
			t.Fatalf("%s is missing: update the lists in languages_test.go", fn)
		}
	}
	path, ja, leaks := languageLeaks(fset, files)
	// The sides must hold what they are about, or the check checks nothing.
	for _, n := range []string{"pathFlow", "template", "getPath", "langJSONPath"} {
		if !path.names[n] {
			t.Errorf("JSONPath side lacks %s: %v", n, path.names)
		}
	}
	for _, n := range []string{"jaFlow", "jaTmpl", "jaVars", "langJSONata"} {
		if !ja.names[n] {
			t.Errorf("JSONata side lacks %s: %v", n, ja.names)
		}
	}
	if !path.methods["refPath"] || !ja.methods["jaAssign"] || path.methods["finish"] {
		t.Errorf("methods: JSONPath %v, JSONata %v", path.methods, ja.methods)
	}
	for _, l := range leaks {
		t.Errorf("%s (keep language-specific code in the flow files: %s, %s)", l, strings.Join(pathFiles, ", "), strings.Join(jaFiles, ", "))
	}
}

// TestLanguageLeaksFound runs the check on files that break each rule.
func TestLanguageLeaksFound(t *testing.T) {
	srcs := map[string]string{
		"flow.go": `package compile
type queryLang int
const ( langJSONPath queryLang = iota; langJSONata )
type flow interface{ finish() }
func newFlow(l queryLang) flow { if l == langJSONata { return &jaFlow{} }; return &pathFlow{} }
func other(l queryLang) bool { return l == langJSONata }
func checkVarName(n string) bool { return aslpath.ValidVarName(n) }
func names(n string) bool { return aslpath.ValidVarName(n) }`,
		"flow_jsonpath.go": `package compile
import "github.com/stepstream/express/jsonata"
type pathFlow struct{ t *template }
func (f *pathFlow) finish() {}
func (sc *stateCompiler) refPath() {}
func usesJA(t *jaTmpl) { _ = jsonata.Undefined }`,
		"template.go": `package compile
type template struct{}`,
		"flow_jsonata.go": `package compile
import "github.com/stepstream/express/aslpath"
type jaFlow struct{}
type jaTmpl struct{}
func (f *jaFlow) finish() {}
func (sc *stateCompiler) jaAssign() {}
var _ = aslpath.Parse`,
		"wait.go": `package compile
func (sc *stateCompiler) wait() {
	fl := sc.newFlow()
	if pf, ok := fl.(*pathFlow); ok { _ = pf }
	sc.refPath()
	fl.finish()
	var template int
	_ = template
}`,
	}
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for n, src := range srcs {
		f, err := parser.ParseFile(fset, n, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[n] = f
	}
	_, _, leaks := languageLeaks(fset, files)
	var got []string
	for _, l := range leaks {
		got = append(got, l.file+": "+l.what)
	}
	want := []string{
		"flow.go: uses JSONPath's package aslpath",
		"flow.go: uses JSONata's langJSONata",
		"flow_jsonata.go: imports JSONPath's package github.com/stepstream/express/aslpath",
		"flow_jsonata.go: uses JSONPath's package aslpath",
		"flow_jsonpath.go: imports JSONata's package github.com/stepstream/express/jsonata",
		"flow_jsonpath.go: uses JSONata's jaTmpl",
		"flow_jsonpath.go: uses JSONata's package jsonata",
		"wait.go: calls JSONPath's method .refPath",
		"wait.go: uses JSONPath's pathFlow",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("leaks found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
