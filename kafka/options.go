package kafka

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/express"
)

// Ordering says which records of a partition may run at the same time.
type Ordering int

// Ordering modes.
const (
	// OrderKey runs records with the same Kafka key one after another (in
	// offset order) and records with different keys in parallel. Records
	// without a key are not ordered.
	OrderKey Ordering = iota
	// OrderPartition runs the records of a partition strictly one after
	// another, in offset order.
	OrderPartition
	// OrderUnordered runs every record as soon as a worker is free.
	OrderUnordered
)

// String returns the mode's configuration name.
func (o Ordering) String() string {
	switch o {
	case OrderKey:
		return "key"
	case OrderPartition:
		return "partition"
	case OrderUnordered:
		return "unordered"
	}
	return fmt.Sprintf("Ordering(%d)", int(o))
}

// ParseOrdering parses "key" (also ""), "partition" or "unordered".
func ParseOrdering(s string) (Ordering, error) {
	switch s {
	case "", "key":
		return OrderKey, nil
	case "partition":
		return OrderPartition, nil
	case "unordered":
		return OrderUnordered, nil
	}
	return 0, fmt.Errorf("%q is not one of key, partition, unordered", s)
}

// Delivery is a processor's delivery guarantee.
type Delivery int

// Delivery guarantees.
const (
	// AtLeastOnce commits a partition's offsets once every earlier record
	// is finished: a crash repeats the work done since the last commit.
	AtLeastOnce Delivery = iota
	// ExactlyOnce writes outputs, dead letters, records of kafka: Task
	// targets and the consumed offsets in one Kafka transaction: a
	// read_committed consumer sees each record's result once, whatever
	// crashes. Side effects outside Kafka (HTTP Tasks) stay at least once.
	ExactlyOnce
)

// String returns the guarantee's configuration name.
func (d Delivery) String() string {
	switch d {
	case AtLeastOnce:
		return "at-least-once"
	case ExactlyOnce:
		return "exactly-once"
	}
	return fmt.Sprintf("Delivery(%d)", int(d))
}

// ParseDelivery parses "at-least-once" (also "") or "exactly-once".
func ParseDelivery(s string) (Delivery, error) {
	switch s {
	case "", "at-least-once":
		return AtLeastOnce, nil
	case "exactly-once":
		return ExactlyOnce, nil
	}
	return 0, fmt.Errorf("%q is not one of at-least-once, exactly-once", s)
}

// Defaults of Options.
const (
	DefaultConcurrency = 256
	// DefaultMaxInFlight and DefaultMaxInFlightPerPartition are a
	// quarter of what they were before the sixth pass (32768 and 8192):
	// past the records awaiting their results' acknowledgement and the
	// workers' queue, more only lengthens the queue, whose records are
	// cold in the CPU's caches by the time a worker takes them; catching up
	// a backlog the daemon's CPU per record went from 1.33–1.44x the bare
	// passthrough's to 1.14–1.40x (a noisy window) and its RSS from 340 to
	// 163 MB (BENCHMARKS.md, "Fetch size").
	DefaultMaxInFlight             = 8192
	DefaultMaxInFlightPerPartition = 2048
	DefaultDrainTimeout            = 30 * time.Second
	DefaultCommitInterval          = time.Second
	DefaultDedupSize               = 100_000
	DefaultDedupWindow             = 10 * time.Minute
	DefaultMaxPollRecords          = 2048
	DefaultMaxInFlightBytes        = 64 << 20
	DefaultFetchMaxPartitionBytes  = 128 << 10
	DefaultLinger                  = 5 * time.Millisecond
	DefaultTxnInterval             = 100 * time.Millisecond
	DefaultTxnMaxRecords           = 10000
)

// Options configure a Processor: one workflow consuming one or more topics in
// one consumer group. Zero values take the defaults above.
type Options struct {
	// Workflow is the compiled workflow run once per record. Required.
	Workflow *express.Workflow
	// Topics to consume and the consumer Group. Required.
	Topics []string
	Group  string
	// OutputTopic receives the output of succeeded executions; empty means
	// the output is dropped (the workflow's Tasks do the work).
	OutputTopic string
	// DLQTopic receives, unchanged, every record whose execution failed or
	// timed out, or that is not valid JSON or is too large. Required: a
	// record must never vanish.
	DLQTopic string
	Ordering Ordering
	// IdempotencyKey says where each execution's name comes from; see
	// ParseKeySource. The zero value is topic/partition/offset.
	IdempotencyKey KeySource
	// Concurrency is the number of pool workers (executions running at once).
	Concurrency int
	// MaxInFlight bounds the records fetched and not yet finished (executed,
	// result acknowledged) over all partitions: polling waits at it.
	// MaxInFlightPerPartition bounds the records of one partition admitted
	// (running, queued for a worker or behind their key, or waiting for
	// their result's acknowledgement); records fetched beyond it are held
	// in memory, in order, until the partition has room, and when as many
	// are held (at most a quarter of MaxInFlight) the partition's fetching
	// pauses.
	MaxInFlight             int
	MaxInFlightPerPartition int
	// MaxInFlightBytes bounds the value bytes of those records (fetching
	// waits while it is reached) and the size of a fetch response (the
	// client buffers one per broker ahead of them; at most Kafka's default
	// fetch.max.bytes, 50 MiB), so that memory is bounded by configuration
	// whatever the record sizes.
	MaxInFlightBytes int64
	// FetchMaxPartitionBytes is the most record bytes one fetch asks of a
	// partition (Kafka's max.partition.fetch.bytes; a larger first batch
	// still comes whole). The default, DefaultFetchMaxPartitionBytes, is
	// an eighth of Kafka's 1 MiB: a daemon catching up a backlog then
	// takes records in cache-sized steps (a fetch of 1 MiB for each of 12
	// partitions, decompressed, was cold by the time workers parsed it,
	// and overran what a partition may hold, so paused partitions dropped
	// it and fetched it again); see BENCHMARKS.md, "Fetch size".
	FetchMaxPartitionBytes int32
	// Linger is how long a partition's results wait for more before they
	// are sent (Kafka's linger.ms; DefaultLinger, Kafka 4's default, when
	// 0 or negative; 1µs is as good as none): results are sent in fewer,
	// larger requests, at the cost of up to this much latency.
	Linger time.Duration
	// MaxRecordBytes is the largest record value executed; larger ones go
	// to the DLQ. Default express.MaxPayloadBytes.
	MaxRecordBytes int
	// DrainTimeout bounds how long revoked partitions (and shutdown) wait for
	// in-flight executions before giving up on them (they are then aborted,
	// not committed, and re-delivered to the partition's next owner).
	DrainTimeout time.Duration
	// CommitInterval is how often finished offsets are committed.
	CommitInterval time.Duration
	// DedupSize and DedupWindow bound the cache of completed idempotency
	// keys; DedupSize < 0 disables it (always off with ExactlyOnce). With the default key
	// (topic/partition/offset) the cache is off unless DedupSize > 0: such
	// keys repeat only when this process reads a partition again.
	DedupSize   int
	DedupWindow time.Duration
	// MaxPollRecords bounds one poll.
	MaxPollRecords int
	// ClientOpts are extra franz-go options: SeedBrokers, TLS, SASL, client
	// id. The Processor adds its group, topics and producer settings.
	ClientOpts []kgo.Opt
	// Metrics, when set, receives the processor's metrics.
	Metrics *Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ExecutionLog, when set, receives the execution logs (see
	// ExecutionLog). Unless its level is LogOff each record then runs on a
	// copy of Workflow whose hooks are Hooks plus the log's.
	ExecutionLog *ExecutionLog
	// Hooks must be the hooks Workflow was compiled with when ExecutionLog
	// is set (the copy replaces them); otherwise they are unused.
	Hooks express.Hooks
	// PropagateHeaders names the headers of an input record (compared
	// without regard to case) that are copied to its output record and
	// passed to its execution's Task calls (express.ExecOptions.Headers:
	// URL and Kafka targets send them). nil means
	// DefaultPropagateHeaders, the W3C trace context; an empty, non-nil
	// slice propagates none. Dead letters carry all the record's headers
	// whatever this says.
	PropagateHeaders []string

	// Delivery is AtLeastOnce (the zero value) or ExactlyOnce; see
	// txn.go for how ExactlyOnce maps onto Kafka transactions.
	Delivery Delivery
	// TransactionalID is the Kafka transactional id of an ExactlyOnce
	// processor; required then. It must be stable across restarts of one
	// instance (a restarted process fences its previous incarnation) and
	// distinct between instances running at the same time (two processes
	// with one id fence each other in turn).
	TransactionalID string
	// TxnInterval and TxnMaxRecords close a transaction after this long or
	// after this many records admitted, whichever comes first.
	TxnInterval   time.Duration
	TxnMaxRecords int
	// txnTimeout, when set, replaces the transaction timeout given to
	// Kafka (txnTimeout); for tests, which cannot wait for the real one.
	txnTimeout time.Duration
	// Observer, when set, picks executions that record their history and
	// sees failed executions and dead letters (the console; see Observer).
	Observer Observer
}

// DefaultPropagateHeaders are the headers Options.PropagateHeaders
// propagates by default: the W3C trace context.
var DefaultPropagateHeaders = []string{"traceparent", "tracestate"}

func (o *Options) fill() error {
	if o.Workflow == nil {
		return fmt.Errorf("kafka: Options.Workflow is required")
	}
	if len(o.Topics) == 0 {
		return fmt.Errorf("kafka: Options.Topics is required")
	}
	if o.Group == "" {
		return fmt.Errorf("kafka: Options.Group is required")
	}
	if o.DLQTopic == "" {
		return fmt.Errorf("kafka: Options.DLQTopic is required")
	}
	for _, t := range o.Topics {
		if t == o.OutputTopic || t == o.DLQTopic {
			return fmt.Errorf("kafka: topic %q is both consumed and produced to", t)
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxInFlightPerPartition <= 0 {
		o.MaxInFlightPerPartition = DefaultMaxInFlightPerPartition
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxInFlight < o.Concurrency {
		o.MaxInFlight = o.Concurrency
	}
	if o.MaxInFlightBytes <= 0 {
		o.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	if o.Linger <= 0 {
		o.Linger = DefaultLinger
	}
	if o.FetchMaxPartitionBytes <= 0 {
		o.FetchMaxPartitionBytes = DefaultFetchMaxPartitionBytes
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = express.MaxPayloadBytes
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = DefaultCommitInterval
	}
	if o.DedupSize == 0 {
		o.DedupSize = DefaultDedupSize
		if o.IdempotencyKey.IsDefault() {
			o.DedupSize = -1
		}
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.MaxPollRecords <= 0 {
		o.MaxPollRecords = DefaultMaxPollRecords
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PropagateHeaders == nil {
		o.PropagateHeaders = DefaultPropagateHeaders
	}
	if o.Delivery == ExactlyOnce {
		if o.TransactionalID == "" {
			return fmt.Errorf("kafka: Options.TransactionalID is required for exactly-once delivery")
		}
		if o.TxnInterval <= 0 {
			o.TxnInterval = DefaultTxnInterval
		}
		if o.TxnMaxRecords <= 0 {
			o.TxnMaxRecords = DefaultTxnMaxRecords
		}
		// the in-memory cache of completed keys cannot follow aborts: a
		// key completed in an aborted transaction would be skipped when
		// its record runs again, and its result lost
		o.DedupSize = -1
	}
	return nil
}
