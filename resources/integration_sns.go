package resources

import (
	"context"
	"strings"

	"github.com/stepstream/express/express"
)

// SNSPublish is the SNS integration. Its Parameters TopicArn (or
// TargetArn; an ARN or a topic name) picks the target; a target that
// publishes gets the Message, keyed by MessageGroupId, with the
// MessageAttributes and the Subject as headers, and the result is
// {MessageId}.
const SNSPublish = "arn:aws:states:::sns:publish"

func init() { registerIntegration(snsPublish) }

var snsPublish = integration[call]{
	resource: SNSPublish,
	short: func(k string) string {
		if strings.HasPrefix(k, "arn:aws:sns:") {
			return lastSegment(k, ":")
		}
		return ""
	},
	check: checkRoutes,
	build: func(r *Resources, req *express.TaskRequest, m map[string]any) (call, error) {
		arn := str(m, "TopicArn")
		if arn == "" {
			arn = str(m, "TargetArn")
		}
		t, err := r.target(req, arn, lastSegment(arn, ":"))
		return call{t, queueMessage(m, "Message", "Subject")}, err
	},
	invoke: func(ctx context.Context, r *Resources, req *express.TaskRequest, c call) (any, error) {
		rp, err := r.send(ctx, req, c)
		if err != nil || !rp.Published {
			return answered(req, rp), err
		}
		return map[string]any{"MessageId": messageID(req, rp)}, nil
	},
}
