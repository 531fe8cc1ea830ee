package api_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stepstream/express/api"
	"github.com/stepstream/express/internal/testutil"
)

// The AWS CLI and boto3 drive the server as users do, with a signature
// that the server verifies (credentials configured). They are the image's
// (aws-cli 1.45, boto3 1.43); older ones lack ValidateStateMachineDefinition.

const (
	cliKey    = "AKIDEXPRESSTEST"
	cliSecret = "cli-secret-key"
)

// awsEnv is the environment of an AWS client process: dummy credentials
// of the server's key, no user config, no retries, no host prefix.
func awsEnv(secret string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_ACCESS_KEY_ID="+cliKey, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1",
		"AWS_RETRY_MODE=standard", "AWS_DISABLE_HOST_PREFIX_INJECTION=true", "AWS_EC2_METADATA_DISABLED=true")
}

type cli struct {
	t      *testing.T
	url    string
	secret string
}

// run runs `aws stepfunctions ARGS --endpoint-url URL` and returns its
// output, exit code and stderr.
func (c cli) run(args ...string) (map[string]any, int, string) {
	c.t.Helper()
	cmd := exec.Command("aws", append(append([]string{"stepfunctions"}, args...), "--endpoint-url", c.url, "--output", "json")...)
	cmd.Env = awsEnv(c.secret)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	var out map[string]any
	if code == 0 && stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			c.t.Fatalf("aws %v: %v: %s", args, err, stdout.String())
		}
	}
	return out, code, stderr.String()
}

func (c cli) ok(args ...string) map[string]any {
	c.t.Helper()
	out, code, stderr := c.run(args...)
	if code != 0 {
		c.t.Fatalf("aws stepfunctions %s: exit %d: %s", args[0], code, stderr)
	}
	return out
}

func needAWSCLI(t *testing.T) {
	t.Helper()
	b, err := exec.Command("aws", "--version").CombinedOutput()
	if err != nil {
		testutil.Missing(t, "the AWS CLI (aws-cli/1.45 or later) is not installed: %v", err)
		return
	}
	m := regexp.MustCompile(`aws-cli/(\d+)\.(\d+)`).FindStringSubmatch(string(b))
	if m == nil {
		testutil.Missing(t, "aws --version says %q", b)
		return
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major == 1 && minor < 45 {
		testutil.Missing(t, "aws-cli %s.%s lacks validate-state-machine-definition: want aws-cli/1.45 or later", m[1], m[2])
	}
}

func testAWSCLI(t *testing.T) {
	needAWSCLI(t)
	if t.Skipped() {
		return
	}
	_, url := serve(t, api.Options{Credentials: api.Credentials{cliKey: cliSecret}})
	c := cli{t: t, url: url, secret: cliSecret}
	created := c.ok("create-state-machine", "--name", "cli-iot", "--type", "EXPRESS", "--role-arn", role, "--definition", reference(t),
		"--logging-configuration", "level=ALL,includeExecutionData=true", "--tracing-configuration", "enabled=true")
	arn, _ := created["stateMachineArn"].(string)
	if arn != "arn:aws:states:us-east-1:123456789012:stateMachine:cli-iot" || created["creationDate"] == nil {
		t.Fatalf("create-state-machine: %v", created)
	}
	c.ok("create-state-machine", "--name", "cli-other", "--type", "EXPRESS", "--role-arn", role, "--definition", `{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`)

	run := c.ok("start-sync-execution", "--state-machine-arn", arn, "--name", "cli-run", "--input", reading)
	billing, _ := run["billingDetails"].(map[string]any)
	if run["status"] != "SUCCEEDED" || run["name"] != "cli-run" || run["stateMachineArn"] != arn ||
		!strings.Contains(run["output"].(string), `"site":"plant-1"`) || run["input"] != reading ||
		billing["billedDurationInMilliseconds"] != 100.0 || billing["billedMemoryUsedInMB"] != 64.0 ||
		!strings.HasPrefix(run["executionArn"].(string), "arn:aws:states:us-east-1:123456789012:express:cli-iot:cli-run:") {
		t.Fatalf("start-sync-execution: %v", run)
	}

	val := c.ok("validate-state-machine-definition", "--definition", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Gone"}}}`)
	diags, _ := val["diagnostics"].([]any)
	if val["result"] != "FAIL" || len(diags) == 0 {
		t.Fatalf("validate-state-machine-definition: %v", val)
	}
	d0 := diags[0].(map[string]any)
	if d0["severity"] != "ERROR" || d0["code"] != "MISSING_TRANSITION_TARGET" || d0["location"] != "/States/A/Next" {
		t.Fatalf("diagnostic: %v", d0)
	}
	if ok := c.ok("validate-state-machine-definition", "--definition", reference(t)); ok["result"] != "OK" {
		t.Fatalf("validate the reference: %v", ok)
	}

	ts := c.ok("test-state", "--definition", `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},"ResultSelector":{"v.$":"$.Payload"},"Next":"After"}`,
		"--input", `{"n":1}`, "--inspection-level", "DEBUG", "--mock", `{"result":"{\"Payload\":{\"ok\":true}}"}`)
	tsData, _ := ts["inspectionData"].(map[string]any)
	if ts["status"] != "SUCCEEDED" || ts["nextState"] != "After" || ts["output"] != `{"v":{"ok":true}}` || tsData["afterParameters"] != `{"FunctionName":"f","Payload":{"n":1}}` {
		t.Fatalf("test-state: %v", ts)
	}

	// the CLI pages through list-state-machines by itself
	list := c.ok("list-state-machines", "--page-size", "1")
	if sms, _ := list["stateMachines"].([]any); len(sms) != 2 {
		t.Fatalf("list-state-machines: %v", list)
	}

	desc := c.ok("describe-state-machine", "--state-machine-arn", arn)
	if desc["type"] != "EXPRESS" || desc["status"] != "ACTIVE" || desc["definition"] != reference(t) ||
		desc["loggingConfiguration"].(map[string]any)["level"] != "ALL" || desc["tracingConfiguration"].(map[string]any)["enabled"] != true {
		t.Fatalf("describe-state-machine: %v", desc)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"describe-state-machine", "--state-machine-arn", arn + "-missing"}, "(StateMachineDoesNotExist)"},
		{[]string{"create-state-machine", "--name", "std", "--role-arn", role, "--definition", reference(t)}, "(ValidationException)"},
		{[]string{"start-sync-execution", "--state-machine-arn", arn, "--input", "{"}, "(InvalidExecutionInput)"},
		{[]string{"describe-execution", "--execution-arn", run["executionArn"].(string)}, "(InvalidArn)"},
	} {
		_, code, stderr := c.run(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("aws stepfunctions %s: exit %d, stderr %q, want %s", tc.args[0], code, stderr, tc.want)
		}
	}
	// a signature made with another secret is refused
	bad := cli{t: t, url: url, secret: cliSecret + "x"}
	if _, code, stderr := bad.run("list-state-machines"); code == 0 || !strings.Contains(stderr, "(InvalidSignatureException)") {
		t.Fatalf("wrong secret: exit %d: %s", code, stderr)
	}
}

func testBoto3(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testutil.Missing(t, "python3 is not installed")
		return
	}
	v, err := exec.Command(py, "-c", "import boto3; print(boto3.__version__)").Output()
	if err != nil {
		testutil.Missing(t, "python3 has no boto3 (want 1.43 or later): %v", err)
		return
	}
	if parts := strings.Split(strings.TrimSpace(string(v)), "."); len(parts) < 2 || parts[0] == "1" && atoi(parts[1]) < 43 {
		testutil.Missing(t, "boto3 %s lacks validate_state_machine_definition: want 1.43 or later", strings.TrimSpace(string(v)))
		return
	}
	_, url := serve(t, api.Options{Credentials: api.Credentials{cliKey: cliSecret}})
	cmd := exec.Command(py, "testdata/boto3_client.py", url, cliKey, cliSecret)
	cmd.Env = awsEnv(cliSecret)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 script: %v\n%s", err, stderr.String())
	}
	var out struct {
		Create   map[string]any      `json:"create"`
		Describe map[string]any      `json:"describe"`
		Sync     map[string]any      `json:"sync"`
		Validate map[string]any      `json:"validate"`
		Listed   []string            `json:"listed"`
		Tags     []map[string]string `json:"tags"`
		Errors   map[string][2]any   `json:"errors"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if out.Create["stateMachineArn"] != "arn:aws:states:us-east-1:123456789012:stateMachine:boto3-sm" || out.Create["creationDate"] == "" {
		t.Errorf("create: %v", out.Create)
	}
	if out.Describe["type"] != "EXPRESS" || out.Describe["status"] != "ACTIVE" || out.Describe["revisionId"] == "" ||
		out.Describe["loggingConfiguration"].(map[string]any)["level"] != "ERROR" {
		t.Errorf("describe: %v", out.Describe)
	}
	s := out.Sync
	if s["status"] != "SUCCEEDED" || s["output"] != `{"sum":5}` || s["name"] != "run-1" || s["startDate"] == nil || s["stopDate"] == nil ||
		s["inputDetails"].(map[string]any)["included"] != true || s["billingDetails"].(map[string]any)["billedMemoryUsedInMB"] != 64.0 ||
		len(s["requestId"].(string)) != 36 {
		t.Errorf("start_sync_execution: %v", s)
	}
	diags, _ := out.Validate["diagnostics"].([]any)
	if out.Validate["result"] != "FAIL" || len(diags) != 1 || diags[0].(map[string]any)["location"] != "/StartAt" {
		t.Errorf("validate: %v", out.Validate)
	}
	if strings.Join(out.Listed, ",") != "boto3-sm" || len(out.Tags) != 1 || out.Tags[0]["value"] != "boto3" {
		t.Errorf("listed %v, tags %v", out.Listed, out.Tags)
	}
	for name, want := range map[string]string{"describe_missing": "StateMachineDoesNotExist", "standard": "ValidationException",
		"bad_input": "InvalidExecutionInput", "bad_signature": "InvalidSignatureException"} {
		if got := out.Errors[name]; got[0] != want || got[1] != 400.0 {
			t.Errorf("%s: got %v, want %s (HTTP 400)", name, got, want)
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
