package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stepstream/express/internal/testutil"
)

// TestServeAPIAlone runs `express serve --api-addr` with no workflow and
// signatures verified, and drives it with the AWS CLI when present.
func TestServeAPIAlone(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDSERVE\naws_secret_access_key = serve-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- serveMain([]string{"--api-addr", "127.0.0.1:0", "--api-credentials", creds, "--api-state-dir", dir, "--metrics-addr", "",
			"--resource", `arn:aws:lambda:us-east-1:123456789012:function:f=static:{"ok":true}`}, &out, &errb, ctx)
	}()
	re := regexp.MustCompile(`Step Functions API on (http://127\.0\.0\.1:\d+)`)
	waitServe(t, "API line", &out, &errb, done, func() bool { return re.MatchString(out.String()) })
	if strings.Contains(out.String(), "Kafka") {
		t.Errorf("a broker for the API alone:\n%s", out.String())
	}
	url := re.FindStringSubmatch(out.String())[1]
	if _, err := exec.LookPath("aws"); err != nil {
		testutil.Missing(t, "the AWS CLI is not installed")
	} else {
		aws := func(secret string, args ...string) (string, error) {
			cmd := exec.Command("aws", append(append([]string{"stepfunctions"}, args...), "--endpoint-url", url)...)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDSERVE", "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=us-east-1",
				"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1", "AWS_DISABLE_HOST_PREFIX_INJECTION=true")
			var b bytes.Buffer
			cmd.Stdout, cmd.Stderr = &b, &b
			err := cmd.Run()
			return b.String(), err
		}
		if o, err := aws("serve-secret", "create-state-machine", "--name", "f", "--type", "EXPRESS", "--role-arn", "arn:aws:iam::123456789012:role/r",
			"--definition", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}`); err != nil {
			t.Fatalf("create: %v: %s", err, o)
		}
		if o, err := aws("serve-secret", "start-sync-execution", "--state-machine-arn", "arn:aws:states:us-east-1:123456789012:stateMachine:f"); err != nil ||
			!strings.Contains(o, `"SUCCEEDED"`) || !strings.Contains(o, `{\"ok\":true}`) {
			t.Fatalf("start-sync-execution: %v: %s", err, o)
		}
		if o, err := aws("other", "list-state-machines"); err == nil || !strings.Contains(o, "InvalidSignatureException") {
			t.Fatalf("wrong secret: %v: %s", err, o)
		}
		if _, err := os.Stat(filepath.Join(dir, "state-machines.json")); err != nil {
			t.Errorf("state dir: %v", err)
		}
	}
	stopServe(t, cancel, done, &errb)
}
