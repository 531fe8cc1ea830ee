package config

import (
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/stepstream/express/compile/diag"
	"github.com/stepstream/express/resources"
)

// API configures the Step Functions API (package api): `api:` in the
// config file, --api-* flags of serve.
//
//	api:
//	  addr: 127.0.0.1:8083
//	  region: us-east-1            # default us-east-1
//	  account: "123456789012"      # default 123456789012
//	  credentials: api-keys.ini    # AWS credentials file; every request's SigV4 signature is verified
//	  state_dir: /var/lib/express  # keeps state machines created through the API
//	  insecure: false              # allow a non-loopback addr without credentials
//	  resources:                   # Task targets of state machines created through the API
//	    arn:aws:lambda:us-east-1:123456789012:function:f: http://127.0.0.1:8080/f
type API struct {
	Addr        string             `yaml:"addr"`
	Region      string             `yaml:"region"`
	Account     string             `yaml:"account"`
	Credentials string             `yaml:"credentials"`
	StateDir    string             `yaml:"state_dir"`
	Insecure    bool               `yaml:"insecure"`
	Resources   map[string]Targets `yaml:"resources"`
	HTTPTimeout Duration           `yaml:"http_timeout"`
}

// Enabled reports whether the API is to be served.
func (a *API) Enabled() bool { return a != nil && a.Addr != "" }

// APIRoutes checks the api section and returns the Task routes of state
// machines created through the API: its resources, or, when it has none
// and the file has exactly one workflow, that workflow's. Problems name
// their field (/api/addr, /api/resources/RESOURCE).
func APIRoutes(f *File) (map[string][]resources.Target, error) {
	a := f.API
	var ps Problems
	host, port, err := net.SplitHostPort(a.Addr)
	if err != nil {
		ps.Add("/api/addr", fmt.Sprintf("%q is not host:port", a.Addr))
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		ps.Add("/api/addr", fmt.Sprintf("port %q is not a number", port))
	} else if a.Credentials == "" && !a.Insecure && !Loopback(host) {
		ps.Add("/api/addr", fmt.Sprintf("%s is not a loopback address and no credentials are set: give credentials (every request's signature is then verified) or set insecure to serve anyone who can reach it", a.Addr))
	}
	if a.Credentials != "" {
		if _, err := os.Stat(a.Credentials); err != nil {
			ps.Add("/api/credentials", err.Error())
		}
	}
	if a.Account != "" && (len(a.Account) != 12 || !digits(a.Account)) {
		ps.Add("/api/account", fmt.Sprintf("%q is not a 12-digit AWS account id", a.Account))
	}
	src := a.Resources
	if len(src) == 0 && len(f.Workflows) == 1 {
		src = f.Workflows[0].Resources
	}
	routes := map[string][]resources.Target{}
	for _, k := range slices.Sorted(maps.Keys(src)) {
		for _, s := range src[k] {
			t, err := resources.ParseTarget(s)
			if err != nil {
				ps.Add(diag.Pointer("/api/resources", k), err.Error())
				continue
			}
			routes[k] = append(routes[k], t)
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return routes, nil
}

// APITimeout is the api section's http_timeout.
func (a *API) APITimeout() time.Duration { return time.Duration(a.HTTPTimeout) }

// Loopback reports whether host (a name or an address, as in host:port)
// is only reachable from this machine: localhost or a loopback address.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
