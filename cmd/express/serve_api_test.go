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
	"time"

	"github.com/stepstream/express/internal/testutil"
)

func TestServeAPIFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--api-addr", "0.0.0.0:0"}, "/api/addr: 0.0.0.0:0 is not a loopback address and no credentials are set"},
		{[]string{"--api-addr", "127.0.0.1:0", "--api-credentials", "/nonexistent"}, "/api/credentials"},
		{[]string{"--api-addr", "127.0.0.1:0", "--api-account", "abc"}, "/api/account"},
		{[]string{}, "/workflows/0/definition: required"},
	} {
		var out, errb testutil.SyncBuffer
		code := serveMain(append(tc.args, "--metrics-addr", ""), &out, &errb, context.Background())
		if code != 1 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("serve %v: code %d, stderr:\n%s\nwant %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

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
	deadline := time.Now().Add(20 * time.Second)
	for !re.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no API line:\n%s\n%s", out.String(), errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s\n%s", code, out.String(), errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
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
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
