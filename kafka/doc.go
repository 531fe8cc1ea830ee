// Package kafka runs compiled workflows over Kafka: one Express execution
// per record, at least once, with selectable ordering, idempotency keys,
// backpressure and graceful rebalancing. It is the library behind
// `express serve`.
//
// # Data path
//
// One poll loop per Processor fetches records (franz-go consumer group,
// cooperative-sticky) and admits each into its partition's state: a ring of
// unfinished records in offset order and, for key or partition ordering, a
// map from key hash to the last record of that key. A record whose key is
// idle goes straight to the ants pool; otherwise it is chained behind the
// running one, and the worker that finishes a record runs the next of its
// key itself (no extra goroutine or channel hop). A worker parses the value
// once (ojg), derives the idempotency key, consults the dedup cache, runs
// the execution and produces the result asynchronously: output to the
// output topic, failures and unparseable or oversized records, unchanged, to
// the dead-letter topic. The produce callback marks the record finished and
// advances the partition's watermark past the finished prefix of the ring;
// a committer commits watermarks every CommitInterval and on revoke or
// shutdown. Nothing is committed past a record whose result is not
// acknowledged by the broker.
//
// Locks: Processor.assignMu (assignment map; read by the poll loop and the
// committer, written by rebalance callbacks) is taken before partition.mu;
// commitMu serialises commits; pauseMu serialises pause/resume calls; the
// dedup cache has 64 sharded locks. No lock is shared by every record.
//
// Files: options.go (Options, Ordering), processor.go (poll loop, admit,
// workers, produce, completion, rebalance), partition.go (ring, watermark,
// key chains), commit.go (commits), slot.go (the per-record carrier and
// result headers), idkey.go (idempotency keys), dedup.go (the sharded
// key cache), latency.go (the progress histogram), metrics.go. Package
// kafka/config reads the YAML config, kafka/daemon assembles `express
// serve`, package resources runs Task resources.
//
// # Metrics
//
// Registered by NewMetrics on the registry it is given:
//
//	express_executions_total{workflow,status}        counter    executions finished by status (SUCCEEDED, FAILED, TIMED_OUT, ABORTED)
//	express_execution_duration_seconds{workflow}     histogram  execution duration
//	express_state_transitions_total{workflow}        counter    states entered
//	express_task_duration_seconds{workflow,resource} histogram  Task invocation latency per attempt (via Metrics.Hooks)
//	express_task_errors_total{workflow,resource}     counter    Task attempts that failed (via Metrics.Hooks)
//	express_retries_total{workflow,state}            counter    retries scheduled by Retry rules (via Metrics.Hooks)
//	express_records_consumed_total{workflow}         counter    records fetched and admitted
//	express_output_records_total{workflow}           counter    output records acknowledged
//	express_dlq_records_total{workflow,reason}       counter    dead-lettered records by reason (failed, timed_out, aborted, rejected)
//	express_dedup_hits_total{workflow,kind}          counter    duplicates skipped (completed recently) or coalesced (same key running)
//	express_commits_total{workflow,result}           counter    offset commits (ok, error)
//	express_produce_errors_total{workflow}           counter    failed output/DLQ produces (retried or redirected)
//	express_rebalances_total{workflow}               counter    partition assignments received
//	express_inflight_records{workflow}               gauge      records admitted and not finished
//	express_pool_running{workflow}                   gauge      pool worker goroutines alive
//	express_pool_busy{workflow}                      gauge      pool workers running executions
//	express_pool_capacity{workflow}                  gauge      pool size
//	express_consumer_lag{workflow,topic,partition}   gauge      records between the commit watermark and the high watermark
package kafka
