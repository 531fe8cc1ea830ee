package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lambdaDef calls a function through lambda:invoke and catches every
// failure into a Fallback state.
const lambdaDef = `{"StartAt":"Price","States":{
  "Price":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
    "Parameters":{"FunctionName":"arn:aws:lambda:eu-west-1:123456789012:function:price","Payload.$":"$"},
    "ResultSelector":{"price.$":"$.Payload.price"},"ResultPath":"$.quote",
    "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Fallback"}],"Next":"Publish"},
  "Publish":{"Type":"Task","Resource":"arn:aws:states:::sns:publish","Parameters":{"TopicArn":"arn:aws:sns:eu-west-1:123456789012:quotes","Message.$":"$.quote"},"ResultPath":null,"End":true},
  "Fallback":{"Type":"Pass","Result":"degraded","ResultPath":"$.status","End":true}}}`

// writeWorkflow writes wf.asl.json and express.yaml (with resources) in a
// new folder and returns the folder.
func writeWorkflow(t *testing.T, resources string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "wf.asl.json"), lambdaDef)
	writeFile(t, filepath.Join(dir, "express.yaml"), "workflows:\n  - definition: wf.asl.json\n    topics: [in]\n    resources:\n"+resources)
	return dir
}

// TestRunConfig: run takes its mappings (and definition) from a serve
// config; an unmapped Task (here a typo'd FunctionName) is refused before
// the execution starts, with the Task's JSON pointer and a did-you-mean,
// unless --allow-unmapped; kafka: targets need --brokers and publish.
func TestRunConfig(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"price":7}`))
	}))
	defer srv.Close()
	dir := writeWorkflow(t, "      price: "+srv.URL+"/price\n      quotes: 'static:{}'\n")
	cfg := filepath.Join(dir, "express.yaml")
	for _, args := range [][]string{
		{"run", "--config", cfg, "--input", `{"id":1}`},
		{"run", filepath.Join(dir, "wf.asl.json"), "--config", cfg, "--input", `{"id":1}`},
		{"run", "--config", cfg, "--workflow", "wf", "--input", `{"id":1}`},
	} {
		code, out, errOut := runCLI(t, "", args...)
		if code != 0 || out != `{"id":1,"quote":{"price":7}}`+"\n" {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	// --resource replaces the config's mapping
	code, out, errOut := runCLI(t, "", "run", "--config", cfg, "--resource", `price=static:{"price":1}`)
	if code != 0 || !strings.Contains(out, `"price":1`) {
		t.Fatalf("--resource over --config: exit %d, %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "run", "--config", cfg, "--workflow", "nope")
	if code != 2 || !strings.Contains(errOut, `--workflow "nope": the config has wf`) {
		t.Fatalf("unknown workflow: exit %d, %q", code, errOut)
	}

	typo := writeWorkflow(t, "      prcie: "+srv.URL+"/price\n      quotes: 'static:{}'\n")
	cfg = filepath.Join(typo, "express.yaml")
	code, out, errOut = runCLI(t, "", "run", "--config", cfg)
	if code != 1 || out != "" ||
		!strings.Contains(errOut, `/workflows/0/definition: wf.asl.json: /States/Price/Parameters/FunctionName: no target is configured for "arn:aws:lambda:eu-west-1:123456789012:function:price"`) ||
		!strings.Contains(errOut, `(did you mean "prcie"?)`) {
		t.Fatalf("unmapped: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// the same from validate --config, and the unused mapping as a warning
	code, out, errOut = runCLI(t, "", "validate", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "/States/Price/Parameters/FunctionName: no target") {
		t.Fatalf("validate: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "validate", "--config", cfg, "--allow-unmapped")
	if code != 0 || !strings.Contains(out, `/workflows/0/resources/prcie: warning: no Task uses this mapping (did you mean "arn:aws:lambda:eu-west-1:123456789012:function:price"?)`) {
		t.Fatalf("validate --allow-unmapped: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "run", "--config", cfg, "--allow-unmapped")
	if code != 0 || !strings.Contains(out, `"status":"degraded"`) || !strings.Contains(errOut, "warning: no target is configured") {
		t.Fatalf("--allow-unmapped: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// without a config the flags' mappings are checked the same way
	code, _, errOut = runCLI(t, "", "run", filepath.Join(typo, "wf.asl.json"), "--resource", "quotes=static:{}")
	if code != 1 || !strings.Contains(errOut, `wf.asl.json: /States/Price/Parameters/FunctionName: no target is configured`) {
		t.Fatalf("flags: exit %d, %q", code, errOut)
	}
}

// TestRunKafkaTarget: a kafka: target publishes to --brokers.
func TestRunKafkaTarget(t *testing.T) {
	broker := crashCluster(t) // topics in, out, dlq
	dir := writeWorkflow(t, "      price: 'static:{\"price\":3}'\n      quotes: kafka:out\n")
	cfg := filepath.Join(dir, "express.yaml")
	code, _, errOut := runCLI(t, "", "run", "--config", cfg)
	if code != 2 || !strings.Contains(errOut, "kafka: targets need a broker: give --brokers") {
		t.Fatalf("no broker: exit %d, %q", code, errOut)
	}
	code, out, errOut := runCLI(t, "", "run", "--config", cfg, "--brokers", broker, "--input", `{"id":2}`)
	if code != 0 || !strings.Contains(out, `"price":3`) {
		t.Fatalf("exit %d, %q %q", code, out, errOut)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("nothing published to out")
		}
		if recs := fs.Records(); len(recs) > 0 {
			if string(recs[0].Value) != `{"price":3}` {
				t.Fatalf("published %s", recs[0].Value)
			}
			return
		}
	}
}

// TestTestConfig: with --config, unmocked Task states call the config's
// targets, a case's own "resources" win, a Task with neither mock nor
// target fails the case before it runs, and mocked states need nothing.
func TestTestConfig(t *testing.T) {
	dir := writeWorkflow(t, "      price: 'static:{\"price\":5}'\n      quotes: 'static:{}'\n")
	cases := filepath.Join(dir, "tests")
	os.Mkdir(cases, 0o755)
	writeFile(t, filepath.Join(cases, "from-config.json"), `{"definitionFile":"../wf.asl.json","input":{},
	  "expect":{"status":"SUCCEEDED","output":{"quote":{"price":5}}}}`)
	writeFile(t, filepath.Join(cases, "own-resources.json"), `{"definitionFile":"../wf.asl.json","input":{},
	  "resources":{"price":"static:{\"price\":6}"},
	  "expect":{"status":"SUCCEEDED","output":{"quote":{"price":6}}}}`)
	writeFile(t, filepath.Join(cases, "mocked.json"), `{"definitionFile":"../wf.asl.json","input":{},
	  "mocks":{"Price":[{"Throw":{"Error":"Lambda.ServiceException"}}]},
	  "expect":{"status":"SUCCEEDED","output":{"status":"degraded","error":{"Error":"Lambda.ServiceException"}}}}`)
	code, out, errOut := runCLI(t, "", "test", "--config", filepath.Join(dir, "express.yaml"), cases)
	if code != 0 || out != "3 passed, 0 failed\n" {
		t.Fatalf("exit %d, %q %q", code, out, errOut)
	}
	// without the config the unmocked cases fail as before (no mock)
	code, out, _ = runCLI(t, "", "test", cases)
	if code != 1 || !strings.Contains(out, `has no mock`) || !strings.HasSuffix(out, "1 passed, 2 failed\n") {
		t.Fatalf("no config: exit %d, %q", code, out)
	}
	typo := writeWorkflow(t, "      prcie: 'static:{}'\n      quotes: 'static:{}'\n")
	code, out, _ = runCLI(t, "", "test", "--config", filepath.Join(typo, "express.yaml"), filepath.Join(cases, "from-config.json"), filepath.Join(cases, "mocked.json"))
	if code != 1 || !strings.Contains(out, `FAIL from-config`) || !strings.Contains(out, `definition rejected: /States/Price/Parameters/FunctionName: no target is configured`) ||
		!strings.HasSuffix(out, "1 passed, 1 failed\n") {
		t.Fatalf("unmapped: exit %d, %q", code, out)
	}
	code, out, _ = runCLI(t, "", "test", "--config", filepath.Join(typo, "express.yaml"), "--allow-unmapped", filepath.Join(cases, "from-config.json"))
	if code != 1 || !strings.Contains(out, `output differs at $.error`) || !strings.Contains(out, `no target is configured for Lambda function`) {
		t.Fatalf("--allow-unmapped: exit %d, %q", code, out)
	}
}

// TestSubcommandHelp: every subcommand's -h prints its synopsis and flags
// and exits 0.
func TestSubcommandHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "validate", "run", "test", "graph", "load"} {
		var code int
		var out, errOut string
		if cmd == "serve" { // serveCmd writes to the process's stderr
			var o, e bytes.Buffer
			code, out, errOut = serveMain([]string{"-h"}, &o, &e, context.Background()), o.String(), e.String()
		} else {
			code, out, errOut = runCLI(t, "", cmd, "-h")
		}
		text := out + errOut
		if code != 0 || !strings.HasPrefix(text, "Usage: express "+cmd) || !strings.Contains(text, "\n  -") ||
			strings.Contains(text, "Usage of") {
			t.Errorf("%s -h: exit %d:\n%s", cmd, code, text)
		}
	}
}

// TestServeUnmapped: serve refuses a Task with no target, naming its JSON
// pointer, before it consumes anything.
func TestServeUnmapped(t *testing.T) {
	var out, errb bytes.Buffer
	code := serveMain([]string{"--definition", refDefinition, "--topic", "readings", "--embedded-port", "0", "--metrics-addr", ""}, &out, &errb, context.Background())
	if code != 1 || !strings.Contains(errb.String(), `/workflows/0/definition: `+refDefinition+`: /States/Enrich/Resource: no target is configured for "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device"`) {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
}
