package config

import (
	"strings"
	"testing"
)

func TestAPISection(t *testing.T) {
	f, err := Parse([]byte(`
api:
  addr: 127.0.0.1:8083
  region: eu-west-1
  account: "111122223333"
  state_dir: /tmp/x
  resources:
    arn:aws:lambda:eu-west-1:111122223333:function:f: static:{"a":1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if !f.API.Enabled() || f.API.Region != "eu-west-1" || f.API.Account != "111122223333" || f.API.StateDir != "/tmp/x" {
		t.Fatalf("%+v", f.API)
	}
	routes, err := APIRoutes(f)
	if err != nil || len(routes) != 1 {
		t.Fatalf("%v %v", routes, err)
	}
	// an api address alone is a valid config: no workflow needed
	if _, err := Check(f, CompileOptions{}); err != nil {
		t.Fatal(err)
	}
	// Check (and so validate --config) reports the api section's problems
	bad, _ := Parse([]byte("api: {addr: 0.0.0.0:80}"))
	if _, err := Check(bad, CompileOptions{}); err == nil || !strings.Contains(err.Error(), "/api/addr") {
		t.Fatalf("Check: %v", err)
	}
	if _, err := Parse([]byte("api: {adr: x}")); err == nil || !strings.Contains(err.Error(), "adr") {
		t.Fatalf("unknown field: %v", err)
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost", "127.1.2.3"} {
		if !Loopback(host) {
			t.Errorf("%s is loopback", host)
		}
	}
	for _, host := range []string{"0.0.0.0", "", "10.0.0.1", "example.com", "::"} {
		if Loopback(host) {
			t.Errorf("%s is not loopback", host)
		}
	}
}
