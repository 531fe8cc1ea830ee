package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClientSizes: the client asks a partition for at most
// FetchMaxPartitionBytes (default DefaultFetchMaxPartitionBytes, not
// franz-go's 1 MiB) and a fetch for at most MaxInFlightBytes, capped at
// Kafka's 50 MiB, and lingers Linger (default DefaultLinger, not
// franz-go's 10 ms) and refreshes metadata at most every MetadataMinAge
// (not franz-go's 5 s); ClientOpts still override them.
func TestClientSizes(t *testing.T) {
	for _, tc := range []struct {
		name           string
		o              Options
		wantPart, want int32
		linger, minAge time.Duration
	}{
		{"defaults", Options{}, DefaultFetchMaxPartitionBytes, 50 << 20, DefaultLinger, MetadataMinAge},
		{"set", Options{FetchMaxPartitionBytes: 4096, MaxInFlightBytes: 1 << 20, Linger: time.Millisecond}, 4096, 1 << 20, time.Millisecond, MetadataMinAge},
		{"client option wins", Options{FetchMaxPartitionBytes: 4096,
			ClientOpts: []kgo.Opt{kgo.FetchMaxPartitionBytes(8192), kgo.FetchMaxBytes(2 << 20), kgo.ProducerLinger(time.Microsecond), kgo.MetadataMinAge(2 * time.Second)}},
			8192, 2 << 20, time.Microsecond, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Workflow, o.Topics, o.Group, o.DLQTopic = fakeWorkflow("w"), []string{"in"}, "g", "dlq"
			p, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			// a client that is made but never used: nothing is dialled
			cl, err := kgo.NewClient(append(p.clientOpts(), kgo.SeedBrokers("127.0.0.1:1"))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if got := cl.OptValue(kgo.FetchMaxPartitionBytes).(int32); got != tc.wantPart {
				t.Errorf("FetchMaxPartitionBytes %d, want %d", got, tc.wantPart)
			}
			if got := cl.OptValue(kgo.FetchMaxBytes).(int32); got != tc.want {
				t.Errorf("FetchMaxBytes %d, want %d", got, tc.want)
			}
			if got := cl.OptValue(kgo.ProducerLinger).(time.Duration); got != tc.linger {
				t.Errorf("ProducerLinger %v, want %v", got, tc.linger)
			}
			if got := cl.OptValue(kgo.MetadataMinAge).(time.Duration); got != tc.minAge {
				t.Errorf("MetadataMinAge %v, want %v", got, tc.minAge)
			}
		})
	}
}
