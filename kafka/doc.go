// Package kafka runs compiled workflows over Kafka: one Express execution
// per record, at least once (or exactly once on Kafka transactions, see
// txn.go and Options.Delivery), with selectable ordering, idempotency keys,
// backpressure and graceful rebalancing. It is the library behind
// `express serve`.
//
// # Data path
//
// One poll loop per Processor fetches records (franz-go consumer group,
// cooperative-sticky) and admits each into its partition's state: a ring of
// unfinished records in offset order and, for key or partition ordering, a
// map from key hash to the last record of that key. A record whose key is
// idle goes straight to the worker pool's queue (which never blocks the
// poll loop); otherwise it is chained behind the
// running one, and the worker that finishes a record runs the next of its
// key itself (no extra goroutine or channel hop). The key is handed on
// only after the record's result was given to the client to produce, so
// the results of a key reach their output partition in the order the
// records ran (beforeProduce, afterProduce). A partition admits at
// most MaxInFlightPerPartition records; what a poll brings beyond that is
// held in memory, in order, and admitted as the ring drains (the records
// are not handed back to the client, which would drop and fetch them
// again); only when a partition also holds as many (at most a quarter of
// MaxInFlight, holdBound) is its fetching paused. Admitted and held records count in MaxInFlight
// and MaxInFlightBytes, at which the poll loop stops polling (the client
// keeps what it buffered: one fetch per broker, of at most
// FetchMaxPartitionBytes a partition, 128 KiB by default, so that a fetch
// is still in the CPU's caches when its records are parsed, and fits what
// a partition may hold). A worker parses the value
// once (internal/jsonv), derives the idempotency key, consults the dedup cache, runs
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
// key cache), latency.go (the progress histogram), metrics.go, logging.go
// (ExecutionLog), health.go (assignment for readiness), workers.go (the
// execution pool), deadletter.go (dead letters too large for their topic),
// txn.go (exactly once: the transaction loop, the produce gate, aborts).
// Package daemon/config reads the YAML config, package daemon assembles
// `express serve` on top of this one, package resources runs Task
// resources.
//
// # Metrics
//
// NewMetrics registers the express_* metrics of processors on the registry
// it is given (never the global one); NewExecutionLog registers
// express_log_*; `express serve` (package daemon) adds franz-go's
// kprom metrics of each client (express_kafka_*, label client: "producer"
// or "consumer:WORKFLOW"), the client_golang Go and process collectors and
// promhttp's handler errors, all on one registry. Labels are bounded: no
// record data, keys or execution names. This list is also
// docs/metrics.md; a test keeps them identical and complete.
//
//	express_executions_total{workflow,status}                counter    executions finished by status (SUCCEEDED, FAILED, TIMED_OUT, ABORTED)
//	express_execution_duration_seconds{workflow}             histogram  execution duration
//	express_state_transitions_total{workflow}                counter    states entered
//	express_state_exits_total{workflow,state}                counter    states finished, successfully or not, by state name (via Metrics.Hooks)
//	express_state_errors_total{workflow,state,error}         counter    states ended by an error, caught, retried or not (via Metrics.Hooks; at most 64 error names per workflow, then error="other")
//	express_task_duration_seconds{workflow,resource}         histogram  Task invocation latency per attempt, 0 for a static result (via Metrics.Hooks)
//	express_task_errors_total{workflow,resource}             counter    Task attempts that failed (via Metrics.Hooks)
//	express_retries_total{workflow,state}                    counter    retries scheduled by Retry rules (via Metrics.Hooks)
//	express_records_consumed_total{workflow}                 counter    records fetched and taken in (admitted or held)
//	express_output_records_total{workflow}                   counter    output records acknowledged
//	express_dlq_records_total{workflow,reason}               counter    dead letters acknowledged by the broker, by reason (failed, timed_out, aborted, rejected)
//	express_dlq_truncated_total{workflow,result}             counter    dead letters refused as too large: sent truncated (truncated), or given up and committed without one (gave_up)
//	express_dedup_hits_total{workflow,kind}                  counter    duplicates skipped (completed recently) or coalesced (same key running)
//	express_commits_total{workflow,result}                   counter    offset commits (ok, error)
//	express_produce_errors_total{workflow}                   counter    failed output/DLQ produces (retried with backoff, redirected or truncated)
//	express_rebalances_total{workflow}                       counter    partition assignments received
//	express_transactions_total{workflow,result}              counter    exactly-once transactions ended (committed, aborted)
//	express_transaction_duration_seconds{workflow}           histogram  exactly-once committed transactions, begin to committed
//	express_transaction_records{workflow}                    histogram  records consumed per committed exactly-once transaction
//	express_inflight_records{workflow}                       gauge      records fetched and not finished (admitted or held)
//	express_inflight_bytes{workflow}                         gauge      value bytes of those records (bounded by --max-in-flight-bytes)
//	express_pool_running{workflow}                           gauge      pool worker goroutines alive
//	express_pool_busy{workflow}                              gauge      pool workers running executions
//	express_pool_queued{workflow}                            gauge      records admitted and waiting for a free worker
//	express_pool_capacity{workflow}                          gauge      pool size
//	express_consumer_lag{workflow,topic,partition}           gauge      records between the commit watermark and the high watermark
//	express_consumer_lag_seconds{workflow,topic,partition}   gauge      age of the oldest fetched record not yet finished (0 when none is in flight)
//	express_oldest_inflight_seconds{workflow,topic,partition} gauge     time since the oldest unfinished record was admitted (a stuck key or Task shows here)
//	express_partitions_assigned{workflow}                    gauge      partitions assigned
//	express_partitions_paused{workflow}                      gauge      assigned partitions paused: MaxInFlightPerPartition records admitted and holdBound held
//	express_log_lines_total{level}                           counter    execution log lines written by slog level: info, warn, error (ExecutionLog)
//	express_log_lines_dropped_total{reason}                  counter    execution log lines dropped: rate_limited, queue_full (ExecutionLog)
//	express_kafka_connects_total{client,node_id}             counter    broker connections opened (franz-go kprom, as all express_kafka_*)
//	express_kafka_connect_errors_total{client,node_id}       counter    broker connections that failed
//	express_kafka_disconnects_total{client,node_id}          counter    broker connections closed
//	express_kafka_write_bytes_total{client,node_id}          counter    bytes written to brokers
//	express_kafka_write_errors_total{client,node_id}         counter    failed writes to brokers
//	express_kafka_read_bytes_total{client,node_id}           counter    bytes read from brokers
//	express_kafka_read_errors_total{client,node_id}          counter    failed reads from brokers
//	express_kafka_produce_bytes_total{client,node_id,topic}  counter    uncompressed bytes produced
//	express_kafka_fetch_bytes_total{client,node_id,topic}    counter    uncompressed bytes fetched
//	express_kafka_buffered_produce_records_total{client}     gauge      records buffered for producing, not yet acknowledged
//	express_kafka_buffered_produce_bytes{client}             gauge      bytes buffered for producing
//	express_kafka_buffered_fetch_records_total{client}       gauge      records fetched and not yet polled
//	express_kafka_buffered_fetch_bytes{client}               gauge      bytes fetched and not yet polled
//	promhttp_metric_handler_errors_total{cause}              counter    errors while serving /metrics
//	process_cpu_seconds_total{}                              counter    CPU time of the daemon (client_golang process collector: all process_*)
//	process_resident_memory_bytes{}                          gauge      resident memory
//	go_goroutines{}                                          gauge      goroutines (client_golang Go collector: all go_*)
//	go_memstats_heap_inuse_bytes{}                           gauge      Go heap in use
//
// # Execution logs
//
// An ExecutionLog (Options.ExecutionLog) writes Express-style execution
// logs at level ALL, ERROR, FATAL or OFF as slog records, from a bounded
// queue drained by one goroutine: a worker never waits for the log. Lines
// over the rate bound or the queue are dropped and counted
// (express_log_lines_dropped_total). A failed execution's line carries the
// error, cause, the state that failed, the execution name and the source
// topic, partition and offset.
package kafka
