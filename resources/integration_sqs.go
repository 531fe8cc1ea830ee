package resources

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"strings"

	"github.com/stepstream/express/express"
)

// SQSSend is the SQS integration. Its Parameters QueueUrl (a URL or a
// queue name) picks the target; a target that publishes gets the
// MessageBody, keyed by MessageGroupId, with the MessageAttributes and the
// MessageDeduplicationId as headers, and the result is {MessageId,
// MD5OfMessageBody}.
const SQSSend = "arn:aws:states:::sqs:sendMessage"

func init() { registerIntegration(sqsSend) }

var sqsSend = integration[call]{
	resource: SQSSend,
	short: func(k string) string {
		if strings.HasPrefix(k, "https://sqs.") || strings.HasPrefix(k, "http://sqs.") {
			return lastSegment(strings.TrimSuffix(k, "/"), "/")
		}
		return ""
	},
	check: checkRoutes,
	build: func(r *Resources, req *express.TaskRequest, m map[string]any) (call, error) {
		q := str(m, "QueueUrl")
		t, err := r.target(req, q, lastSegment(strings.TrimSuffix(q, "/"), "/"))
		return call{t, queueMessage(m, "MessageBody", "MessageDeduplicationId")}, err
	},
	invoke: func(ctx context.Context, r *Resources, req *express.TaskRequest, c call) (any, error) {
		rp, err := r.send(ctx, req, c)
		if err != nil || !rp.Published {
			return answered(req, rp), err
		}
		return map[string]any{"MessageId": messageID(req, rp), "MD5OfMessageBody": md5hex(c.msg.Value.([]byte))}, nil
	},
}

func md5hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}
