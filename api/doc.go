// Package api answers the AWS Step Functions API for Express workflows, so
// the AWS CLI and every AWS SDK work unchanged against express with
// --endpoint-url: the AWS JSON 1.0 protocol (POST /, Content-Type
// application/x-amz-json-1.0, X-Amz-Target AWSStepFunctions.<Operation>),
// the request and response members of botocore's service model, errors as
// AWS sends them (HTTP 400, {"__type": "namespace#Code", "message": ...},
// and the x-amzn-RequestId header).
//
// Operations are a table: one file per operation (op_*.go) implementing
// Operation and one Register line. Registered: CreateStateMachine,
// DescribeStateMachine, ListStateMachines, UpdateStateMachine,
// DeleteStateMachine, TagResource, UntagResource, ListTagsForResource,
// ValidateStateMachineDefinition, StartSyncExecution (in process, at most
// once), StartExecution (in process on a bounded queue, or handed to a
// Starter such as a Kafka topic), DescribeExecution, GetExecutionHistory
// and StopExecution (Express executions have no history: AWS's InvalidArn).
//
// Only EXPRESS state machines are created. Task resources run through the
// invoker given in Options (the daemon's resource mapping). With
// Options.Credentials every request's SigV4 signature is verified.
//
// Two fronts answer alike: Server.ServeHTTP (an http.Handler) and
// HTTPServer (Server.NewHTTPServer, on github.com/valyala/fasthttp, what
// `express serve --api-addr` uses: less CPU per request).
//
// Metrics (on Options.Registerer):
//
//	express_api_requests_total{operation,outcome}   requests; outcome is ok or the error code
//	express_api_sync_execution_duration_seconds{state_machine,status}   StartSyncExecution executions
package api
