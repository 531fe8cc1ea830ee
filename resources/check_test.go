package resources

import (
	"strings"
	"testing"
)

func TestCheckNamed(t *testing.T) {
	const fnARN = "arn:aws:lambda:eu-west-1:123456789012:function:enrich-device"
	routes := map[string][]Target{}
	for k, v := range map[string]string{fnARN: `static:{}`, "alerts": "kafka:alerts", "https://sqs.eu-west-1.amazonaws.com/1/jobs": "kafka:jobs"} {
		tg, err := ParseTarget(v)
		if err != nil {
			t.Fatal(err)
		}
		routes[k] = []Target{tg}
	}
	r, err := New(Config{Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		resource string
		params   map[string]any
		name     string // "" : NamedTarget says not ok
		ok       bool
	}{
		{LambdaInvoke, map[string]any{"FunctionName": fnARN}, fnARN, true},
		{LambdaInvoke, map[string]any{"FunctionName": "enrich-device"}, "enrich-device", true},
		{LambdaInvoke + ".sync", map[string]any{"FunctionName": fnARN + ":$LATEST"}, fnARN + ":$LATEST", true},
		{LambdaInvoke, map[string]any{"FunctionName": "enrich-devcie"}, "enrich-devcie", false},
		{LambdaInvoke, map[string]any{"FunctionName.$": "$.fn"}, "", false},
		{LambdaInvoke, map[string]any{"FunctionName": "{% $fn %}"}, "", false},
		{SNSPublish, map[string]any{"TopicArn": "arn:aws:sns:eu-west-1:1:alerts"}, "arn:aws:sns:eu-west-1:1:alerts", true},
		{SNSPublish, map[string]any{"TargetArn": "arn:aws:sns:eu-west-1:1:other"}, "arn:aws:sns:eu-west-1:1:other", false},
		{SQSSend, map[string]any{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/jobs"}, "https://sqs.eu-west-1.amazonaws.com/1/jobs", true},
		{"arn:aws:lambda:eu-west-1:1:function:x", map[string]any{"FunctionName": "x"}, "", false},
		{EventsPut, nil, "", false},
	} {
		_, name, ok := NamedTarget(tc.resource, tc.params)
		if name != tc.name || ok != (tc.name != "") {
			t.Errorf("NamedTarget(%s, %v) = %q, %v", tc.resource, tc.params, name, ok)
			continue
		}
		if !ok {
			continue
		}
		err := r.CheckNamed(tc.resource, name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckNamed(%s, %s) = %v, want ok %v", tc.resource, name, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), `no target is configured for "`+name+`"`) {
			t.Errorf("error %v", err)
		}
	}
	// the integration's own default target serves every name
	tg, _ := ParseTarget("static:{}")
	r, err = New(Config{Routes: map[string][]Target{LambdaInvoke: {tg}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckNamed(LambdaInvoke, "anything"); err != nil {
		t.Error(err)
	}
}
