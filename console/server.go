package console

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"sort"
)

//go:embed static
var static embed.FS

// Handler serves the console under /ui/. It answers GET and HEAD only
// (405 otherwise): nothing it serves changes state.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	files, _ := fs.Sub(static, "static")
	mux.Handle("/ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(files)))
	page := func(w http.ResponseWriter, r *http.Request) {
		b, _ := static.ReadFile("static/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	}
	mux.HandleFunc("/ui/{$}", page)
	mux.HandleFunc("/ui/workflows/{name}", page)
	mux.HandleFunc("/ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	mux.HandleFunc("/ui/api/workflows", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.list()) })
	mux.HandleFunc("/ui/api/workflows/{name}/graph", func(w http.ResponseWriter, r *http.Request) {
		d := c.drawing(r.PathValue("name"))
		if d == nil {
			http.Error(w, "no such workflow", http.StatusNotFound)
			return
		}
		writeJSON(w, d)
	})
	mux.HandleFunc("/ui/api/workflows/{name}/stats", func(w http.ResponseWriter, r *http.Request) {
		wf := c.workflow(r.PathValue("name"))
		if wf == nil {
			// a state machine of the API without a recorder: no figures
			if c.drawing(r.PathValue("name")) == nil {
				http.Error(w, "no such workflow", http.StatusNotFound)
				return
			}
			writeJSON(w, &Stats{Workflow: r.PathValue("name"), States: map[string]*StateFigures{}})
			return
		}
		writeJSON(w, wf.Stats())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the console is read-only", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		// The page may load and fetch nothing but its own origin.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

// Listed is one entry of the workflow list.
type Listed struct {
	Name string `json:"name"`
	// Source is "daemon" (a workflow of the config) or "api" (created
	// through the Step Functions API).
	Source string `json:"source"`
	States int    `json:"states"`
	Arn    string `json:"stateMachineArn,omitempty"`
}

func (c *Console) list() []Listed {
	var out []Listed
	seen := map[string]bool{}
	for _, w := range c.workflows() {
		n := 0
		g := w.graph.Load()
		if g == nil && !w.api.Load() {
			// a recorder made for an API state machine's hooks before its
			// first execution: listed below, from Others
			continue
		}
		if g != nil {
			n = len(g.model.Nodes)
		}
		seen[w.name] = true
		src := "daemon"
		if w.api.Load() {
			src = "api"
		}
		out = append(out, Listed{Name: w.name, Source: src, States: n})
	}
	if c.o.Others != nil {
		others := c.o.Others.StateMachines()
		sort.Slice(others, func(i, j int) bool { return others[i].Name < others[j].Name })
		for _, sm := range others {
			if seen[sm.Name] {
				continue
			}
			n := 0
			if m, err := ModelFromDefinition(sm.Definition); err == nil {
				n = len(m.Nodes)
			}
			out = append(out, Listed{Name: sm.Name, Source: "api", States: n, Arn: sm.StateMachineArn})
		}
	}
	return out
}

// drawing returns the laid-out graph of a workflow or listed state machine.
func (c *Console) drawing(name string) *Drawing {
	if w := c.workflow(name); w != nil {
		if g := w.graph.Load(); g != nil {
			return g.drawing
		}
	}
	if c.o.Others != nil {
		for _, sm := range c.o.Others.StateMachines() {
			if sm.Name == name {
				m, err := ModelFromDefinition(sm.Definition)
				if err != nil {
					return nil
				}
				return Layout(m)
			}
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
