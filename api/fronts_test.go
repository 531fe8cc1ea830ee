package api_test

import (
	"testing"

	"github.com/stepstream/express/internal/apitest"
)

// TestOverHTTP runs every test that starts a server once with each front:
// both must answer alike.
func TestOverHTTP(t *testing.T) {
	tests := []struct {
		name string
		f    func(*testing.T)
	}{
		{"SDKStateMachines", testSDKStateMachines},
		{"SDKErrors", testSDKErrors},
		{"SDKValidate", testSDKValidate},
		{"SDKStartSyncReference", testSDKStartSyncReference},
		{"SDKStartExecution", testSDKStartExecution},
		{"SDKExamples", testSDKExamples},
		{"SDKTestState", testSDKTestState},
		{"SDKMockConfigTestCase", testSDKMockConfigTestCase},
		{"BindStarter", testBindStarter},
		{"Signature", testSignature},
		{"StateDir", testStateDir},
		{"AWSCLI", testAWSCLI},
		{"Boto3", testBoto3},
	}
	for _, front := range []string{apitest.FrontFast, apitest.FrontStd} {
		t.Run(front, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, tc.f)
			}
		})
	}
}
