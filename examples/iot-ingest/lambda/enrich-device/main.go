// Command enrich-device is the iot-ingest example's enrich-device Lambda
// function, written with github.com/aws/aws-lambda-go as a function
// deployed to AWS would be. The end-to-end test in the parent directory
// builds it and runs it under the AWS Lambda Runtime Interface Emulator.
//
// It answers {"site", "threshold"} for a device, and for the test's
// devices:
//
//   - an id beginning "dev-unknown" raises DeviceNotFound (errorType
//     "DeviceNotFound");
//   - "dev-panic" panics (the runtime reports the panic and exits).
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
)

// Request is the Payload the iot-ingest workflow's Enrich state sends.
type Request struct {
	DeviceID string `json:"deviceId"`
	Type     string `json:"type"`
}

// Device is the function's answer.
type Device struct {
	Site      string  `json:"site"`
	Threshold float64 `json:"threshold"`
}

// DeviceNotFound is the function's error for a device it does not know:
// the runtime names it by its type, so a workflow catches "DeviceNotFound".
type DeviceNotFound struct{ ID string }

func (e DeviceNotFound) Error() string { return "no device " + e.ID }

func handle(ctx context.Context, r Request) (Device, error) {
	switch {
	case strings.HasPrefix(r.DeviceID, "dev-unknown"):
		return Device{}, DeviceNotFound{ID: r.DeviceID}
	case r.DeviceID == "dev-panic":
		panic(fmt.Sprintf("enrich-device: cannot enrich %s", r.DeviceID))
	}
	threshold := 30.0
	if r.Type == "humidity" {
		threshold = 80
	}
	return Device{Site: "plant-1", Threshold: threshold}, nil
}

func main() { lambda.Start(handle) }
