package faults

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const gib = 1 << 30

// Scenarios is the suite, in the order it runs.
var Scenarios = []Scenario{
	{
		Name:  "rebalance",
		About: "2-3 daemons of one group join and leave (SIGTERM) mid-stream; every record waits 1 s (Wait state)",
		Short: Size{Records: 2500, Rate: 250, Rounds: 6, Settle: 25 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 30000, Rate: 1000, Rounds: 16, Settle: 90 * time.Second, MaxRSS: gib},
		Run:   runRebalance,
	},
	{
		Name:  "kill9",
		About: "one daemon of two is killed with SIGKILL and restarted, in a loop, mid-stream and (every other round, full size) while it joins the group (reference workflow)",
		// A member killed while the group rebalances is waited for, by
		// Kafka as by kfake, for the rebalance timeout (the drain timeout,
		// 5 s here, plus 7 s), twice at worst (join, then sync): the stream
		// may stop for about 25 s without being wedged.
		Short: Size{Records: 100000, Rate: 1500, Rounds: 4, Settle: 60 * time.Second, Stall: 40 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 1000000, Rate: 5000, Rounds: 10, Settle: 90 * time.Second, Stall: 40 * time.Second, MaxRSS: gib, JoinKills: true},
		Run:   runKill9,
	},
	{
		Name:  "exactly-once",
		About: "daemons in exactly-once mode (one stable, one killed with SIGKILL and restarted with the same instance id, fencing its previous incarnation); a read_committed reader must find exactly one result per reading",
		Short: deliveryShort,
		Full:  deliveryFull,
		Run:   func(r *Run) { runDelivery(r, true) },
	},
	{
		Name:  "exactly-once-zombie",
		About: "exactly once: a daemon of two is paused with SIGSTOP mid-transaction until the other takes over its partitions, then resumed: fenced, it commits nothing; a read_committed reader finds one result per reading",
		Short: Size{Records: 20000, Rate: 1000, Rounds: 1, Settle: 40 * time.Second, Stall: 40 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 200000, Rate: 4000, Rounds: 3, Settle: 90 * time.Second, Stall: 40 * time.Second, MaxRSS: gib},
		Run:   runZombie,
	},
	{
		Name:  "at-least-once-kill9",
		About: "the exactly-once scenario with at-least-once daemons, for contrast: nothing lost, the duplicates are reported, not failed",
		Short: deliveryShort,
		Full:  deliveryFull,
		Run:   func(r *Run) { runDelivery(r, false) },
	},
	{
		Name:  "broker-restart",
		About: "the broker is closed mid-stream and a new one (empty) starts on the same address; the daemon must resume",
		Short: Size{Records: 3000, Rate: 1500, Rounds: 1, Settle: 25 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 50000, Rate: 5000, Rounds: 3, Settle: 90 * time.Second, MaxRSS: gib},
		Run:   runBrokerRestart,
	},
	{
		Name:  "broker-errors",
		About: "retriable and non-retriable errors injected on Produce, Fetch, OffsetCommit, JoinGroup, SyncGroup and Heartbeat (kfake Fault and ControlKey)",
		Short: Size{Records: 100000, Rate: 500, Rounds: 1, Settle: 25 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 1000000, Rate: 2000, Rounds: 3, Settle: 90 * time.Second, MaxRSS: gib},
		Run:   runBrokerErrors,
	},
	{
		Name:  "dlq-too-large",
		About: "dead letters over the DLQ topic's max.message.bytes (64 KiB), then the topic's limit lowered to 16 KiB while the daemon runs: truncated dead letters, offsets committed",
		Short: Size{Records: 1000, Rate: 500, Rounds: 1, Settle: 25 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 20000, Rate: 2000, Rounds: 1, Settle: 60 * time.Second, MaxRSS: gib},
		Run:   runDLQTooLarge,
	},
	{
		Name:  "broker-latency",
		About: "every broker request delayed 0-300 ms, then Produce and OffsetCommit delayed 1 s (SleepControl)",
		Short: Size{Records: 4000, Rate: 800, Rounds: 1, Settle: 25 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 60000, Rate: 3000, Rounds: 1, Settle: 90 * time.Second, MaxRSS: gib},
		Run:   runBrokerLatency,
	},
	{
		Name:  "hung-http",
		About: "Task targets that hang or answer in 2 s: /metrics answers, a second member gets partitions, SIGTERM exits within --drain-timeout 5s + 5s",
		Short: Size{Records: 600, Rate: 200, Rounds: 1, Settle: 25 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 3000, Rate: 300, Rounds: 3, Settle: 90 * time.Second, MaxRSS: gib},
		Run:   runHungHTTP,
	},
	{
		Name:  "adversarial",
		About: "invalid UTF-8, 5 MB values, 100k '[' nesting, JSONata $split/$match over 250 KB strings, among normal records: RSS under 1 GiB",
		Short: Size{Records: 400, Rate: 200, Rounds: 1, Settle: 40 * time.Second, MaxRSS: gib},
		Full:  Size{Records: 4000, Rate: 200, Rounds: 4, Settle: 180 * time.Second, MaxRSS: gib},
		Run:   runAdversarial,
	},
}

// The sizes of the exactly-once crash test and its at-least-once contrast:
// 20,000 readings and 2 kills in CI, 1,000,000 and 5 in the full size.
var (
	deliveryShort = Size{Records: 20000, Rate: 2000, Rounds: 2, Settle: 40 * time.Second, Stall: 40 * time.Second, MaxRSS: gib}
	deliveryFull  = Size{Records: 1000000, Rate: 5000, Rounds: 5, Settle: 120 * time.Second, Stall: 40 * time.Second, MaxRSS: gib}
)

// Lookup returns the scenario named name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// ProduceAsync produces in the background; the returned func waits for
// the producer (which also ends when the run is cleaned up).
func (r *Run) ProduceAsync(n, rate int, gen func(i int) *kgo.Record) (wait func()) {
	stop := make(chan struct{})
	done := make(chan struct{})
	b := r.broker
	go func() {
		defer close(done)
		defer func() { recover() }() // a Fatalf in the producer ends only the producer
		b.Produce(stop, n, rate, gen)
	}()
	var once sync.Once
	r.Cleanup(func() {
		once.Do(func() { close(stop) })
		<-done
	})
	return func() { <-done }
}

const wait1 = `{"Comment":"every record waits one second","StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}`

func waitRecord(i int) *kgo.Record {
	return &kgo.Record{Key: []byte("k-" + strconv.Itoa(i%500)), Value: []byte(`{"i":` + strconv.Itoa(i) + `}`)}
}

// ProduceUntil produces at rate (at most max records) until the returned
// stop func is called; stop waits for the producer's acknowledgements.
func (r *Run) ProduceUntil(max, rate int, gen func(i int) *kgo.Record) (stop func()) {
	ch := make(chan struct{})
	done := make(chan struct{})
	b := r.broker
	go func() {
		defer close(done)
		defer func() { recover() }()
		b.Produce(ch, max, rate, gen)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() { close(ch) })
		<-done
	}
	r.Cleanup(stop)
	return stop
}

// progress waits until results grew by n, or every input produced so far
// has a result (caught up), or timeout passes.
func (r *Run) progress(n int, timeout time.Duration) bool {
	start := -1
	return WaitFor(timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		t, err := r.broker.Tally(ctx)
		if err != nil {
			return false
		}
		if start < 0 {
			start = t.Results
		}
		return t.Results >= start+n || (t.Inputs > 0 && t.Lost == 0)
	})
}

func runRebalance(r *Run) {
	r.StartBroker(BrokerConfig{})
	def := r.WriteFile("wait1.asl.json", wait1)
	cfg := func(name string) DaemonConfig {
		return DaemonConfig{Name: name, Definition: def, Drain: 5 * time.Second}
	}
	n := 1
	running := []*Daemon{r.StartDaemon(cfg("m1"))}
	wait := r.ProduceAsync(r.Size.Records, r.Size.Rate, waitRecord)
	if !r.WaitResults(50, 30*time.Second) {
		r.Fatalf("no result within 30s of the first daemon's start; last lines:\n%s", running[0].LogTail(10))
	}
	t0 := time.Now()
	span := time.Duration(r.Size.Records) * time.Second / time.Duration(r.Size.Rate)
	for i := 0; i < r.Size.Rounds; i++ {
		// Spread the changes over the stream (pacing, not an assertion).
		if d := time.Until(t0.Add(span * time.Duration(i) / time.Duration(r.Size.Rounds))); d > 0 {
			time.Sleep(d)
		}
		// Two joins, then a leave, and so on: 1, 2, 3, 2, 3, 2, ...
		if len(running) < 3 && (len(running) < 2 || i%3 != 2) {
			n++
			running = append(running, r.StartDaemon(cfg("m"+strconv.Itoa(n))))
			r.Logf("round %d: m%d joins (%d members)", i, n, len(running))
		} else {
			d := running[0]
			running = running[1:]
			r.Logf("round %d: %s leaves (SIGTERM, %d members left)", i, d.Name, len(running))
			d.Stop()
		}
		// Let the group settle and the stream go on before the next change.
		if !r.progress(100, 30*time.Second) {
			r.Failf("round %d: no 100 new results within 30s of a membership change (wedged?)", i)
		}
	}
	wait()
	r.Finish()
}

func runKill9(r *Run) {
	b := r.StartBroker(BrokerConfig{})
	def, res := r.ReferenceWorkflow()
	cfg := func(name string) DaemonConfig {
		return DaemonConfig{Name: name, Definition: def, Resources: []string{res}}
	}
	r.StartDaemon(cfg("stable"))
	stop := r.ProduceUntil(r.Size.Records, r.Size.Rate, Reading) // Records is a cap: it stops after the kills
	victim := r.StartDaemon(cfg("victim-0"))
	for i := 0; i < r.Size.Rounds; i++ {
		if i%2 == 1 && r.Size.JoinKills {
			// Kill it while it joins the group: the group is mid-rebalance.
			time.Sleep(300 * time.Millisecond) // into the join, not an assertion
			r.Logf("round %d: kill -9 %s while it joins the group", i, victim.Name)
			victim.Kill()
			victim = r.StartDaemon(cfg("victim-" + strconv.Itoa(i+1)))
			continue
		}
		// Kill it mid-stream: once it has partitions and results flow.
		// After kills mid-join the group may wait out the rebalance
		// timeout (drain timeout + 7 s) for each dead member, twice at
		// worst, before it assigns anything: 60 s covers two of them.
		if !WaitFor(60*time.Second, func() bool { _, rd, _, err := victim.Health(); return err == nil && rd == 200 }) {
			r.Failf("round %d: %s got no partitions within 60s of its start; last lines:\n%s", i, victim.Name, victim.LogTail(10))
			break
		}
		if !r.progress(r.Size.Rate/2, 30*time.Second) {
			r.Failf("round %d: no progress within 30s; %s last lines:\n%s", i, victim.Name, victim.LogTail(10))
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		committed, _ := b.Committed(ctx, "faults")
		cancel()
		r.Logf("round %d: kill -9 %s (%d offsets committed)", i, victim.Name, committed)
		victim.Kill()
		victim = r.StartDaemon(cfg("victim-" + strconv.Itoa(i+1)))
	}
	stop()
	r.Finish()
}

// runDelivery kills a daemon of two with SIGKILL while they work through
// readings, exactly once (the restarted daemon keeps its instance id, so
// it fences its previous incarnation) or at least once (for contrast).
func runDelivery(r *Run, exactly bool) {
	b := r.StartBroker(BrokerConfig{ReadCommitted: true, AllowDuplicates: !exactly})
	def, res := r.ReferenceWorkflow()
	cfg := func(name, instance string) DaemonConfig {
		c := DaemonConfig{Name: name, Definition: def, Resources: []string{res}}
		if exactly {
			c.Extra = []string{"--delivery", "exactly-once", "--instance-id", instance}
		}
		return c
	}
	r.StartDaemon(cfg("stable", "stable"))
	wait := r.ProduceAsync(r.Size.Records, r.Size.Rate, Reading) // all of them: the kills are spread over the stream
	victim := r.StartDaemon(cfg("victim-0", "victim"))
	every := r.Size.Records / (r.Size.Rounds + 1)
	for i := 0; i < r.Size.Rounds; i++ {
		if !WaitFor(60*time.Second, func() bool { _, rd, _, err := victim.Health(); return err == nil && rd == 200 }) {
			r.Failf("round %d: %s got no partitions within 60s of its start; last lines:\n%s", i, victim.Name, victim.LogTail(10))
			break
		}
		// mid-stream: once the victim has committed something
		if !WaitFor(30*time.Second, func() bool {
			v, err := victim.Metric("express_commits_total")
			return err == nil && v >= 3
		}) {
			r.Failf("round %d: %s committed no transaction within 30s; last lines:\n%s", i, victim.Name, victim.LogTail(10))
			break
		}
		// spread the kills: the i-th once about (i+1)/(rounds+1) of the
		// readings are committed
		var committed int64
		if !WaitFor(r.Size.Settle, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			committed, _ = b.Committed(ctx, "faults")
			return committed >= int64(every*(i+1))
		}) {
			r.Failf("round %d: %d offsets committed, not %d, within %v; %s last lines:\n%s", i, committed, every*(i+1), r.Size.Settle, victim.Name, victim.LogTail(10))
			break
		}
		r.Logf("round %d: kill -9 %s (%d offsets committed)", i, victim.Name, committed)
		victim.Kill()
		// the same instance id: the new incarnation fences the old one
		// and aborts its open transaction at once
		victim = r.StartDaemon(cfg("victim-"+strconv.Itoa(i+1), "victim"))
	}
	wait()
	r.Finish()
}

// runZombie pauses an exactly-once daemon mid-transaction (SIGSTOP) until
// the other member has taken over its partitions and committed past it,
// then resumes it: its open transaction was aborted by the coordinator
// (the transaction timeout) and its group generation is gone, so nothing
// it held may be committed; it rejoins as a new member.
func runZombie(r *Run) {
	b := r.StartBroker(BrokerConfig{ReadCommitted: true})
	def, res := r.ReferenceWorkflow()
	cfg := func(name string) DaemonConfig {
		return DaemonConfig{Name: name, Definition: def, Resources: []string{res},
			Extra: []string{"--delivery", "exactly-once", "--instance-id", name}}
	}
	r.StartDaemon(cfg("stable"))
	wait := r.ProduceAsync(r.Size.Records, r.Size.Rate, Reading)
	zombie := r.StartDaemon(cfg("zombie"))
	committed := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, _ := b.Committed(ctx, "faults")
		return n
	}
	for i := 0; i < r.Size.Rounds; i++ {
		if !WaitFor(60*time.Second, func() bool {
			v, err := zombie.Metric("express_transactions_total")
			_, rd, _, herr := zombie.Health()
			return err == nil && v >= 3 && herr == nil && rd == 200
		}) {
			r.Failf("round %d: %s committed no transaction within 60s; last lines:\n%s", i, zombie.Name, zombie.LogTail(10))
			break
		}
		at := committed()
		r.Logf("round %d: SIGSTOP %s (%d offsets committed)", i, zombie.Name, at)
		zombie.Pause()
		// the other member takes the partitions once the session
		// expires and reads their offsets once the coordinator aborted
		// the zombie's transaction (the transaction timeout, 10 s)
		if !WaitFor(r.Size.Settle, func() bool { return committed() >= at+int64(r.Size.Rate)*5 }) {
			r.Failf("round %d: the stable member did not take over within %v (%d offsets committed)", i, r.Size.Settle, committed())
			zombie.Resume()
			break
		}
		r.Logf("round %d: SIGCONT %s (%d offsets committed)", i, zombie.Name, committed())
		zombie.Resume()
	}
	wait()
	r.Finish()
}

func runBrokerRestart(r *Run) {
	b := r.StartBroker(BrokerConfig{})
	def, res := r.ReferenceWorkflow()
	d := r.StartDaemon(DaemonConfig{Name: "d", Definition: def, Resources: []string{res}, Extra: []string{"--daemon-log-level", "warn"}})
	for round := 0; round < r.Size.Rounds; round++ {
		wait := r.ProduceAsync(r.Size.Records, r.Size.Rate, Reading)
		if !r.WaitResults(r.Size.Records/3, 30*time.Second) {
			wait()
			r.Failf("the daemon made no third of the results within 30s on the broker started %d time(s) before (it does not resume after a restart); last lines:\n%s",
				round, d.LogTail(10))
			r.Finish()
			return
		}
		wait()
		r.Logf("round %d: restarting the broker on %s (%d inputs on the old one)", round, b.Addr, b.Inputs())
		b.Restart()
	}
	t0 := time.Now()
	wait := r.ProduceAsync(r.Size.Records, r.Size.Rate, Reading)
	if !r.WaitResults(1, r.Size.Settle) {
		r.Failf("no result on the new broker %v after its start: the daemon does not resume consuming (0 records/s); last lines:\n%s",
			r.Size.Settle, d.LogTail(10))
	} else {
		r.Notef("first result on the new broker %v after its start", time.Since(t0).Round(100*time.Millisecond))
	}
	wait()
	r.Finish()
}

// faultStep is one injected broker error.
type faultStep struct {
	name  string
	fault kfake.Fault
	// window: how long a Count -1 fault stays installed.
	window time.Duration
}

func runBrokerErrors(r *Run) {
	b := r.StartBroker(BrokerConfig{})
	def, res := r.ReferenceWorkflow()
	cfg := func(name string) DaemonConfig {
		return DaemonConfig{Name: name, Definition: def, Resources: []string{res}}
	}
	d1 := r.StartDaemon(cfg("e1"))
	d2 := r.StartDaemon(cfg("e2"))
	stopProducing := r.ProduceUntil(r.Size.Records, r.Size.Rate, Reading) // Records is a cap: it stops after the faults
	if !r.WaitResults(200, 30*time.Second) {
		r.Fatalf("no results before the faults; last lines:\n%s", d1.LogTail(10))
	}
	k := func(keys ...kmsg.Key) []kmsg.Key { return keys }
	steps := []faultStep{
		{"Produce out NOT_LEADER_FOR_PARTITION (retriable)", kfake.Fault{Keys: k(kmsg.Produce), Topic: TopicOut, Err: kerr.NotLeaderForPartition, Count: -1}, time.Second},
		{"Produce out REQUEST_TIMED_OUT (retriable, appended)", kfake.Fault{Keys: k(kmsg.Produce), Topic: TopicOut, Err: kerr.RequestTimedOut, Count: -1}, time.Second},
		{"Produce out INVALID_RECORD x20 (not retriable)", kfake.Fault{Keys: k(kmsg.Produce), Topic: TopicOut, Err: kerr.InvalidRecord, Count: 20}, 0},
		{"Produce dlq NOT_ENOUGH_REPLICAS (retriable)", kfake.Fault{Keys: k(kmsg.Produce), Topic: TopicDLQ, Err: kerr.NotEnoughReplicas, Count: -1}, time.Second},
		{"Produce dlq INVALID_RECORD x10 (not retriable)", kfake.Fault{Keys: k(kmsg.Produce), Topic: TopicDLQ, Err: kerr.InvalidRecord, Count: 10}, 0},
		{"Fetch in NOT_LEADER_FOR_PARTITION (retriable)", kfake.Fault{Keys: k(kmsg.Fetch), Topic: TopicIn, Err: kerr.NotLeaderForPartition, Count: -1}, time.Second},
		{"Fetch in UNKNOWN_TOPIC_OR_PARTITION (retriable)", kfake.Fault{Keys: k(kmsg.Fetch), Topic: TopicIn, Err: kerr.UnknownTopicOrPartition, Count: -1}, time.Second},
		{"Fetch in TOPIC_AUTHORIZATION_FAILED x6 (not retriable)", kfake.Fault{Keys: k(kmsg.Fetch), Topic: TopicIn, Err: kerr.TopicAuthorizationFailed, Count: 6}, 0},
		{"OffsetCommit COORDINATOR_NOT_AVAILABLE (retriable)", kfake.Fault{Keys: k(kmsg.OffsetCommit), Topic: TopicIn, Err: kerr.CoordinatorNotAvailable, Count: -1}, 2 * time.Second},
		{"OffsetCommit REBALANCE_IN_PROGRESS x4", kfake.Fault{Keys: k(kmsg.OffsetCommit), Topic: TopicIn, Err: kerr.RebalanceInProgress, Count: 4}, 0},
		{"OffsetCommit ILLEGAL_GENERATION x3 (not retriable)", kfake.Fault{Keys: k(kmsg.OffsetCommit), Topic: TopicIn, Err: kerr.IllegalGeneration, Count: 3}, 0},
		{"OffsetCommit UNKNOWN_MEMBER_ID x2 (not retriable)", kfake.Fault{Keys: k(kmsg.OffsetCommit), Topic: TopicIn, Err: kerr.UnknownMemberID, Count: 2}, 0},
		{"Heartbeat REBALANCE_IN_PROGRESS x2 (forces a rebalance)", kfake.Fault{Keys: k(kmsg.Heartbeat), Err: kerr.RebalanceInProgress, Count: 2}, 0},
		{"JoinGroup COORDINATOR_LOAD_IN_PROGRESS (retriable), with Heartbeat REBALANCE_IN_PROGRESS", kfake.Fault{Keys: k(kmsg.JoinGroup), Err: kerr.CoordinatorLoadInProgress, Count: -1}, 2 * time.Second},
		{"SyncGroup REBALANCE_IN_PROGRESS x3, with Heartbeat REBALANCE_IN_PROGRESS", kfake.Fault{Keys: k(kmsg.SyncGroup), Err: kerr.RebalanceInProgress, Count: 3}, 0},
		{"Heartbeat NOT_COORDINATOR (retriable)", kfake.Fault{Keys: k(kmsg.Heartbeat), Err: kerr.NotCoordinator, Count: -1}, 2 * time.Second},
		{"Heartbeat UNKNOWN_MEMBER_ID x1 (not retriable: the member rejoins)", kfake.Fault{Keys: k(kmsg.Heartbeat), Err: kerr.UnknownMemberID, Count: 1}, 0},
	}
	c := b.Cluster()
	wedged := false
rounds:
	for round := 0; round < r.Size.Rounds; round++ {
		for _, s := range steps {
			h := c.Fault(s.fault)
			var kick *kfake.FaultHandle
			if strings.Contains(s.name, "with Heartbeat") {
				kick = c.Fault(kfake.Fault{Keys: k(kmsg.Heartbeat), Err: kerr.RebalanceInProgress, Count: 2})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := h.Wait(ctx, 1)
			cancel()
			if s.window > 0 {
				time.Sleep(s.window) // the fault's window, not an assertion
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = h.Wait(ctx, s.fault.Count)
				cancel()
			}
			h.Remove()
			if kick != nil {
				kick.Remove()
			}
			hits := "not hit within 10s"
			if err == nil {
				hits = strconv.Itoa(h.Hits()) + " requests faulted"
			}
			r.Logf("round %d: %s: %s", round, s.name, hits)
			if !r.progress(100, 30*time.Second) {
				r.Failf("after %q: no 100 new results within 30s (wedged); the remaining faults are not injected", s.name)
				wedged = true
				break rounds
			}
		}
		// A ControlKey control closes the connection of 5 fetches.
		var closed atomic.Int32
		c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
			if closed.Add(1) > 5 {
				c.DropControl()
				return nil, nil, false
			}
			c.KeepControl()
			return nil, errors.New("injected: connection closed"), true
		})
		if !r.progress(100, 30*time.Second) {
			r.Failf("after 5 fetch connections were closed: no 100 new results within 30s (wedged?)")
		}
		r.Logf("round %d: ControlKey Fetch closed %d connections", round, min(closed.Load(), 5))
	}
	if wedged {
		r.Notef("e1 last lines:\n%s\ne2 last lines:\n%s", d1.LogTail(6), d2.LogTail(6))
	}
	stopProducing()
	for _, d := range []*Daemon{d1, d2} {
		if n := d.CountLog("produce failed"); n > 0 {
			r.Notef("%s logged %d \"produce failed\" lines", d.Name, n)
		}
	}
	r.Finish()
}

func runDLQTooLarge(r *Run) {
	b := r.StartBroker(BrokerConfig{TopicConfigs: map[string]map[string]string{TopicDLQ: {"max.message.bytes": strconv.Itoa(64 << 10)}}})
	def, res := r.ReferenceWorkflow()
	d := r.StartDaemon(DaemonConfig{Name: "d", Definition: def, Resources: []string{res}})
	pad := noise(120 << 10) // random letters: the producer's compression cannot shrink them under 64 KiB
	gen := func(i int) *kgo.Record {
		rec := Reading(i)
		kind := "reading"
		switch {
		case i%25 == 3: // over --max-record-bytes: RecordTooLarge, dead-lettered as is (300 KB)
			kind, rec.Value = "too-large-300KB", []byte(`{"deviceId":"big","pad":"`+noise(300<<10)+`"}`)
		case i%10 == 0: // out of range (a Fail state) with a 120 KB field: a 120 KB dead letter
			kind, rec.Value = "failed-120KB", []byte(`{"deviceId":"dev","ts":"t","type":"temperature","value":999,"unit":"C","battery":0.5,"tags":["`+pad+`"]}`)
		case i%50 == 7: // invalid JSON of 100 KB
			kind, rec.Value = "invalid-json-100KB", []byte(`{"deviceId":`+noise(100<<10))
		}
		rec.Headers = []kgo.RecordHeader{{Key: HeaderKind, Value: []byte(kind)}}
		return rec
	}
	b.Produce(nil, r.Size.Records/2, r.Size.Rate, gen)
	// Then an operator lowers the dead-letter topic's limit to 16 KiB while
	// the daemon runs: its batches, sized for 64 KiB, are refused until it
	// learns the new limit.
	if err := b.AlterTopic(TopicDLQ, map[string]string{"max.message.bytes": strconv.Itoa(16 << 10)}); err != nil {
		r.Fatalf("lowering the dead-letter topic's limit: %v", err)
	}
	b.Produce(nil, r.Size.Records-r.Size.Records/2, r.Size.Rate, func(i int) *kgo.Record { return gen(i + r.Size.Records/2) })
	r.Finish()
	if n := d.CountLog("MESSAGE_TOO_LARGE"); n > 0 {
		r.Notef("d logged %d lines naming MESSAGE_TOO_LARGE, e.g. %q", n, first(d.LogLines("MESSAGE_TOO_LARGE", 1)))
	}
	if n := d.CountLog("giving up"); n > 0 {
		r.Notef("d gave up on %d dead letters, e.g. %q", n, first(d.LogLines("giving up", 1)))
	}
}

// noise returns n pseudo-random letters and digits.
func noise(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s[0]) > 300 {
		return s[0][:300] + "..."
	}
	return s[0]
}

func runBrokerLatency(r *Run) {
	b := r.StartBroker(BrokerConfig{})
	def, res := r.ReferenceWorkflow()
	cfg := func(name string) DaemonConfig {
		return DaemonConfig{Name: name, Definition: def, Resources: []string{res}}
	}
	r.StartDaemon(cfg("l1"))
	r.StartDaemon(cfg("l2"))
	c := b.Cluster()
	var mode atomic.Int32 // 0 off, 1 every request 0-300 ms, 2 Produce and OffsetCommit 1 s
	var delayed atomic.Int64
	c.ControlKey(-1, func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		var d time.Duration
		switch mode.Load() {
		case 1:
			d = time.Duration(rand.IntN(300)) * time.Millisecond
		case 2:
			if k := req.Key(); k == int16(kmsg.Produce) || k == int16(kmsg.OffsetCommit) {
				d = time.Second
			}
		}
		if d > 0 {
			delayed.Add(1)
			c.SleepControl(func() { time.Sleep(d) })
		}
		return nil, nil, false
	})
	r.Cleanup(func() { mode.Store(0) })
	mode.Store(1)
	wait := r.ProduceAsync(r.Size.Records, r.Size.Rate, Reading)
	if !r.WaitResults(r.Size.Records/4, 60*time.Second) {
		r.Failf("under 0-300 ms latency: not a quarter of the results within 60s")
	}
	mode.Store(2)
	r.Logf("Produce and OffsetCommit now delayed 1 s")
	if !r.progress(r.Size.Records/8, 60*time.Second) {
		r.Failf("under 1 s Produce/OffsetCommit latency: no progress within 60s")
	}
	wait()
	mode.Store(0)
	r.Notef("%d broker requests delayed", delayed.Load())
	r.Finish()
}

// slowServer is a Task target on 127.0.0.1: requests whose body has
// "hang" wait until released, "slow" ones answer after 2 s, the rest at
// once.
type slowServer struct {
	ln      net.Listener
	srv     *http.Server
	release chan struct{}
	once    sync.Once
	hung    atomic.Int64 // requests hanging now
	total   atomic.Int64
}

func (r *Run) startSlowServer() *slowServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.Fatalf("listen: %v", err)
	}
	s := &slowServer{ln: ln, release: make(chan struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		s.total.Add(1)
		switch {
		case strings.Contains(string(body), "hang"):
			s.hung.Add(1)
			select {
			case <-s.release:
			case <-req.Context().Done():
			}
			s.hung.Add(-1)
		case strings.Contains(string(body), "slow"):
			select {
			case <-time.After(2 * time.Second):
			case <-req.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})}
	go s.srv.Serve(ln)
	r.Cleanup(func() {
		s.Release()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if s.srv.Shutdown(ctx) != nil {
			s.srv.Close()
		}
	})
	return s
}

// Release makes hanging requests (and later ones) answer.
func (s *slowServer) Release() { s.once.Do(func() { close(s.release) }) }

const httpWorkflow = `{"Comment":"one Task on an HTTP target","StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:123456789012:function:target","ResultPath":"$.result","End":true}}}`

func runHungHTTP(r *Run) {
	r.StartBroker(BrokerConfig{})
	srv := r.startSlowServer()
	def := r.WriteFile("http.asl.json", httpWorkflow)
	res := "arn:aws:lambda:eu-west-1:123456789012:function:target=http://" + srv.ln.Addr().String() + "/target"
	const drain = 5 * time.Second
	cfg := func(name string) DaemonConfig {
		return DaemonConfig{Name: name, Definition: def, Resources: []string{res}, Drain: drain}
	}
	gen := func(i int) *kgo.Record {
		mode := "fast"
		switch i % 10 {
		case 0:
			mode = "hang"
		case 1, 2:
			mode = "slow"
		}
		return &kgo.Record{Key: []byte("k-" + strconv.Itoa(i%500)), Value: []byte(`{"i":` + strconv.Itoa(i) + `,"mode":"` + mode + `"}`),
			Headers: []kgo.RecordHeader{{Key: HeaderKind, Value: []byte(mode)}}}
	}
	for round := 0; round < r.Size.Rounds; round++ {
		a := r.StartDaemon(cfg("a" + strconv.Itoa(round)))
		wait := r.ProduceAsync(r.Size.Records, r.Size.Rate, gen)
		if !WaitFor(30*time.Second, func() bool { return srv.hung.Load() >= 5 }) {
			r.Fatalf("round %d: fewer than 5 requests hanging after 30s (%d requests in all); last lines:\n%s", round, srv.total.Load(), a.LogTail(10))
		}
		t0 := time.Now()
		if v, err := a.Inflight(); err != nil {
			r.Failf("round %d: /metrics of %s with %d hung tasks: %v", round, a.Name, srv.hung.Load(), err)
		} else {
			r.Logf("round %d: %s answers /metrics in %v with %v in flight, %d requests hanging", round, a.Name, time.Since(t0).Round(time.Millisecond), v, srv.hung.Load())
		}
		bd := r.StartDaemon(cfg("b" + strconv.Itoa(round)))
		t0 = time.Now()
		got := WaitFor(drain+15*time.Second, func() bool {
			_, rd, _, err := bd.Health()
			return err == nil && rd == 200
		})
		if !got {
			r.Failf("round %d: the second member %s got no partitions within %v of joining while %s had hung tasks (drain %v)",
				round, bd.Name, drain+15*time.Second, a.Name, drain)
		} else {
			r.Notef("round %d: second member got partitions %v after joining", round, time.Since(t0).Round(100*time.Millisecond))
		}
		// SIGTERM the member with hung tasks: it must exit within the drain
		// timeout plus a few seconds.
		r.Logf("round %d: SIGTERM %s with %d requests hanging", round, a.Name, srv.hung.Load())
		a.Stop()
		wait()
		if round < r.Size.Rounds-1 {
			// The next round's first member is this round's second; stop it
			// too, while its tasks hang, then start over.
			r.Logf("round %d: SIGTERM %s with %d requests hanging", round, bd.Name, srv.hung.Load())
			bd.Stop()
		}
	}
	srv.Release()
	r.Finish()
}

// jsonataWorkflow does string work over a field s when there is one:
// $split into characters, $reverse, $join, and $match when m is true.
const jsonataWorkflow = `{"Comment":"JSONata string work","QueryLanguage":"JSONata","StartAt":"J","States":{"J":{"Type":"Pass",` +
	`"Output":"{% $exists($states.input.s) ? {'n': $length($join($reverse($split($states.input.s, '')))), 'm': $states.input.m ? $count($match($states.input.s, /a(b)/)) : 0} : $states.input %}","End":true}}}`

func runAdversarial(r *Run) {
	b := r.StartBroker(BrokerConfig{BrokerConfigs: map[string]string{"message.max.bytes": strconv.Itoa(16 << 20)}, MaxBatchBytes: 16 << 20})
	def := r.WriteFile("jsonata.asl.json", jsonataWorkflow)
	d := r.StartDaemon(DaemonConfig{Name: "d", Definition: def})
	ab := strings.Repeat("ab", 125000) // 250 KB
	big := `{"pad":"` + strings.Repeat("q", 5<<20) + `"}`
	deep := strings.Repeat("[", 100000)
	kinds := map[string]int{}
	gen := func(i int) *kgo.Record {
		rec := &kgo.Record{Key: []byte("k-" + strconv.Itoa(i%64))}
		kind := "normal"
		switch i % 40 {
		case 1:
			kind, rec.Value = "invalid-utf8", []byte("{\"s\":\"\xff\xfe\xfd\",\"x\":\"\xc3\x28\"}")
		case 2:
			kind, rec.Value = "5MB", []byte(big)
		case 3:
			kind, rec.Value = "deep-unclosed", []byte(deep)
		case 4:
			kind, rec.Value = "deep-closed", []byte(deep+strings.Repeat("]", 100000))
		case 5, 6, 7:
			kind, rec.Value = "jsonata-split-250KB", []byte(`{"s":"`+ab+`","m":false}`)
		case 8:
			if i/40 < 2*r.Size.Rounds { // $match is seconds of CPU each
				kind, rec.Value = "jsonata-match-250KB", []byte(`{"s":"`+ab+`","m":true}`)
			}
		case 9:
			kind, rec.Value = "deep-object", []byte(strings.Repeat(`{"a":`, 50000)+"1"+strings.Repeat("}", 50000))
		}
		if rec.Value == nil {
			rec.Value = []byte(`{"i":` + strconv.Itoa(i) + `}`)
		}
		rec.Headers = []kgo.RecordHeader{{Key: HeaderKind, Value: []byte(kind)}}
		kinds[kind]++
		return rec
	}
	b.Produce(nil, r.Size.Records, r.Size.Rate, gen)
	r.Notef("inputs by kind: %v", kinds)
	// Health must stay responsive while the hard records run.
	if h, rd, body, err := d.Health(); err != nil {
		r.Failf("health while working: %v", err)
	} else {
		r.Logf("health while working: %d %d %s", h, rd, body)
	}
	r.Finish()
}
