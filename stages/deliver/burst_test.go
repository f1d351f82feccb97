package deliver_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver"
)

// TestBurstToHealthyEndpointGoesOutAtItsSpeed is issue 18: 20,000 subjects
// for one fast endpoint, produced at once, on the partition of an endpoint
// that answers after 2 s. Before, the fast endpoint's queue filled and
// almost every subject was spilled to the 1-minute tier (bursts separated
// by 59 s of silence). Now the partition waits for the fast endpoint
// (backpressure): every subject arrives once, none through a retry tier,
// in trigger order (up to the requests in flight at once), without a
// pause of more than 2 s (the slow endpoint answers in 3 s), and the slow endpoint's subjects all
// arrive, none dead-lettered.
func TestBurstToHealthyEndpointGoesOutAtItsSpeed(t *testing.T) {
	for _, tc := range []struct{ maxSubjects, inFlight, slowSubjects int }{{1, 16, 16}, {100, 1, 400}} {
		t.Run("max_subjects="+strconv.Itoa(tc.maxSubjects), func(t *testing.T) {
			testBurst(t, tc.maxSubjects, tc.inFlight, tc.slowSubjects)
		})
	}
}

// testBurst runs the test with the fast endpoint's own max_subjects and
// max_in_flight (the slow one has the same max_subjects and the stage's
// max_in_flight, 4).
func testBurst(t *testing.T, maxSubjects, inFlight, slowSubjects int) {
	// Records come back to the pool overwritten: an item read after its
	// batch finished would show (checkSubjectsWhole).
	t.Setenv(pipeline.PoisonRecycledEnv, "1")
	n := 20000
	if raceEnabled && maxSubjects == 1 {
		// 20,000 requests cost about 40 s of CPU under the race detector.
		n = 4000
		t.Logf("race detector: %d subjects instead of 20,000", n)
	}
	cfg := testConfig()
	// Full and cut batches go without waiting for linger; only the last
	// one (after the last cut point) waits for it.
	cfg.Linger = 200 * time.Millisecond
	env := newEnv(t, 1, cfg)
	fast := newRecorder(t, nil)
	slow := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select { // the receiver's own latency, not a test wait
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	fastEP, slowEP := endpoint("wh_fast", fast.url("/fast")), endpoint("wh_slow", slow.url("/slow"))
	fastEP.MaxSubjects, slowEP.MaxSubjects = maxSubjects, maxSubjects
	fastEP.MaxInFlight = inFlight
	var recs []*kgo.Record
	every := 20000 / slowSubjects
	slowSubjects = (n + every - 1) / every
	for i := range n {
		recs = append(recs, records(t, env.Topics.Deliveries, request(i, "wh_fast", schemas.EventNewSession, subject(i)))...)
		if i%every == 0 {
			id := n + i/every
			recs = append(recs, records(t, env.Topics.Deliveries, request(id, "wh_slow", schemas.EventNewSession, subject(id)))...)
		}
	}
	run := startStage(t, env, cfg, newEndpoints(fastEP, slowEP))
	// Warm up: open the fast endpoint's connections (a request waiting for
	// a new connection can be overtaken by one on an open connection).
	const warm = 100000
	var w []schemas.DeliveryRequest
	for i := range 2 * inFlight * maxSubjects {
		w = append(w, request(warm+i, "wh_fast", schemas.EventNewSession, subject(warm+i)))
	}
	env.produce(t, w...)
	kafkatest.Eventually(t, 20*time.Second, "warm-up", func() bool { return fast.countFor("/fast") >= len(w) })
	fast.reset()
	for i := 0; i < len(recs); i += 5000 {
		env.Produce(t, recs[i:min(i+5000, len(recs))]...)
	}
	start := time.Now()
	kafkatest.Eventually(t, 50*time.Second, "every fast subject", func() bool {
		if c := fast.countFor("/fast"); c < n && time.Since(start) > 45*time.Second {
			t.Logf("%d of %d fast subjects after %s; stats %+v", c, n, time.Since(start), run.stage.Stats())
		}
		return fast.countFor("/fast") >= n
	})
	kafkatest.Eventually(t, 30*time.Second, "every slow subject", func() bool { return slow.countFor("/slow") >= slowSubjects })

	arr := fast.arrivals()
	first, last := arr[0].at, arr[len(arr)-1].at
	var gap time.Duration
	for i := 1; i < len(arr); i++ {
		gap = max(gap, arr[i].at.Sub(arr[i-1].at))
	}
	rate := float64(n) / last.Sub(first).Seconds()
	t.Logf("max_subjects %d: %d subjects in %d requests over %s (%.0f subjects/s, %.0f requests/s), longest silence %s; stats %+v",
		maxSubjects, n, len(arr), last.Sub(first).Round(time.Millisecond), rate, float64(len(arr))/last.Sub(first).Seconds(), gap.Round(time.Millisecond), run.stage.Stats())

	got := fast.subjectsFor("/fast")
	seen := make(map[int]bool, n)
	for _, id := range got {
		if seen[id] {
			t.Fatalf("subject %d arrived twice", id)
		}
		seen[id] = true
	}
	// Requests are sent in trigger order. With one in flight at a time
	// they arrive so; with more, requests in flight together may overtake
	// one another (their goroutines and connections race), by a few
	// hundred positions at most here, where a spill would put a subject
	// thousands of positions late.
	slack := 0
	if inFlight > 1 {
		slack = cfg.QueueSize / 2
	}
	for pos, id := range got {
		if d := pos - id; d > slack || d < -slack {
			t.Fatalf("subject %d arrived at position %d: out of trigger order by more than %d", id, pos, slack)
		}
	}
	if len(got) != n {
		t.Errorf("fast endpoint got %d subjects, want %d", len(got), n)
	}
	if st := run.stage.Stats(); st.Spilled != 0 {
		t.Errorf("%d subjects spilled to a retry tier, want 0", st.Spilled)
	}
	// A slow endpoint holding the fast one back shows as a silence of
	// its 3 s latency; pauses of 1-1.5 s were seen from CPU starvation
	// alone on a loaded 2-core machine, so the bound is 2 s.
	if gap > 2*time.Second {
		t.Errorf("fast endpoint's subjects paused for %s (a slow endpoint shares its partition)", gap)
	}
	// The stage recycles its input records (pipeline.RecordRecycler):
	// a subject read after its buffer went back would arrive zeroed or
	// as another record's bytes.
	checkSubjectsWhole(t, fast, slow)
	if got := len(slow.subjectsFor("/slow")); got != slowSubjects {
		t.Errorf("slow endpoint got %d subjects, want %d", got, slowSubjects)
	}
	if d := countRecords(t, env, env.Topics.DeliveriesDLQ); d != 0 {
		t.Errorf("%d dead letters, want 0", d)
	}
	for _, tier := range cfg.Tiers() {
		if c := countRecords(t, env, env.Topics.Retry(deliver.TierName(tier))); c != 0 {
			t.Errorf("%d records in tier %s, want 0", c, deliver.TierName(tier))
		}
	}
}
