package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type others []StateMachine

func (o others) StateMachines() []StateMachine { return o }

const tiny = `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}`

func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	c := New(Options{Others: others{{Name: "from-api", StateMachineArn: "arn:aws:states:us-east-1:111111111111:stateMachine:from-api", Type: "EXPRESS", Definition: []byte(tiny), CreationDate: time.Now()}}})
	if err := c.Workflow("wf").SetDefinition([]byte(tiny)); err != nil {
		t.Fatal(err)
	}
	c.Tick(time.Now())
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// TestReadOnly: every path of the console refuses every method but GET
// and HEAD.
func TestReadOnly(t *testing.T) {
	srv := testServer(t)
	paths := []string{"/ui", "/ui/", "/ui/workflows/wf", "/ui/static/app.js", "/ui/api/workflows", "/ui/api/workflows/wf/graph", "/ui/api/workflows/wf/stats", "/ui/api/workflows/nope/stats"}
	for _, p := range paths {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, "OPTIONS"} {
			req, _ := http.NewRequest(m, srv.URL+p, strings.NewReader(`{}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q", m, p, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
	}
}

func TestPages(t *testing.T) {
	srv := testServer(t)
	for _, tc := range []struct {
		path, ctype, contains string
		code                  int
	}{
		{"/ui/", "text/html", `src="/ui/static/app.js"`, 200},
		{"/ui/workflows/wf", "text/html", `id="graph"`, 200},
		{"/ui/static/app.js", "javascript", "refresh", 200},
		{"/ui/static/app.css", "text/css", "--fail", 200},
		{"/ui/api/workflows", "application/json", `"source":"api"`, 200},
		{"/ui/api/workflows/wf/graph", "application/json", `"name":"A"`, 200},
		{"/ui/api/workflows/from-api/graph", "application/json", `"name":"B"`, 200},
		{"/ui/api/workflows/wf/stats", "application/json", `"workflow":"wf"`, 200},
		{"/ui/api/workflows/from-api/stats", "application/json", `"workflow":"from-api"`, 200},
		{"/ui/api/workflows/nope/graph", "text/plain", "no such workflow", 404},
		{"/ui/api/workflows/nope/stats", "text/plain", "no such workflow", 404},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(b), tc.contains) {
			t.Errorf("%s: %d %s\n%s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
	}
	var list []Listed
	resp, _ := http.Get(srv.URL + "/ui/api/workflows")
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list) != 2 || list[0].Name != "wf" || list[0].States != 2 || list[1].Source != "api" || list[1].Arn == "" {
		t.Errorf("list %+v", list)
	}
}

// TestNoExternalReference: the embedded files name no other origin.
func TestNoExternalReference(t *testing.T) {
	for _, f := range []string{"static/index.html", "static/app.js", "static/app.css"} {
		b, err := static.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "")
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url(http"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", f, bad)
			}
		}
	}
}
