package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadflow/leadflow/bench/adminapi"
	"github.com/leadflow/leadflow/bench/producer"
	"github.com/leadflow/leadflow/bench/report"
	"github.com/leadflow/leadflow/bench/scrape"
	"github.com/leadflow/leadflow/bench/traffic"
)

// Phases of a trial, as report.Sample.Phase.
const (
	phaseWarmup  = "warmup"
	phaseMeasure = "measure"
	phaseDrain   = "drain"
)

// trial is one run at one rate: its own workspaces (run id), traffic,
// checker and timeline.
type trial struct {
	h        *harness
	runID    string
	rate     float64
	gen      *traffic.Generator
	chk      *checker
	handlers [numClasses]http.Handler
	failed   atomic.Uint64
	rejected atomic.Uint64
	prod     *producer.Producer
	start    time.Time
	setupOK  bool
	warnings []string
	byKind   [traffic.NumKinds]uint64
	classes  []uint8

	// Cost probe readings (costProbe): Redis used_memory at the start and
	// after the drain, the high-water RSS after the drain.
	redisBefore, redisAfter       int64
	redisBeforeErr, redisAfterErr error
	highWater                     float64
	highWaterErr                  error
	drained                       cumul // after the drain

	loadEnded atomic.Bool
	mu        sync.Mutex // guards what follows
	samples   []report.Sample
	base      cumul  // at the start
	prev      cumul  // at the previous sample
	atWarm    *cumul // at the end of the warm-up
	atEnd     *cumul // when the load stopped
	lastSnap  *scrape.Snapshot
	scrapeErr error
}

// cumul is a trial's cumulative counters at one moment.
type cumul struct {
	at                 time.Time
	snap               *scrape.Snapshot // nil when the scrape failed
	acked              uint64
	scheduled          float64
	requests, subjects uint64
	// procCPU is the pipeline process's CPU seconds from /proc; procErr
	// is set when it could not be read.
	procCPU float64
	procErr error
}

// trial runs the load at rate (label names it in the progress bar) and
// returns its result.
func (h *harness) trial(ctx context.Context, rate float64, label string) (*Result, error) {
	t, err := h.newTrial(rate)
	if err != nil {
		return nil, err
	}
	bar := newProgress(h.o.Progress)
	if err := t.setup(ctx, bar); err != nil {
		return nil, err
	}
	if err := t.newProducer(); err != nil {
		return nil, err
	}
	t.base = t.capture(ctx) // an external pipeline's counters do not start at 0
	t.prev = t.base
	t.redisBefore, t.redisBeforeErr = h.cost.redisUsedMemory(ctx)
	t.start = time.Now()
	t.chk.setMeasureStart(t.start.Add(h.o.Warmup))
	samplerCtx, stopSampler := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); t.sample(samplerCtx) }()
	go func() { defer wg.Done(); bar.run(samplerCtx, t, label, h.o.Warmup+h.o.Duration) }()
	pstats, perr := t.load(ctx)
	loadEnd := time.Now()
	t.loadEnded.Store(true)
	endCap := t.capture(ctx)
	t.mu.Lock()
	t.atEnd = &endCap
	t.mu.Unlock()

	drainSec := t.drain(ctx, loadEnd)
	stopSampler()
	wg.Wait()
	bar.endLine()
	t.afterDrain(ctx)
	res := t.result(pstats, loadEnd, drainSec)
	costCPU(&res.Cost, t.base, t.drained, pstats.Acked, drainSec >= 0)
	if perr != nil {
		return res, perr
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// newTrial makes a trial's traffic, checker and receivers and registers it
// for the receiver's routing.
func (h *harness) newTrial(rate float64) (*trial, error) {
	o := h.o
	t := &trial{h: h, runID: randomHex(4), rate: rate}
	gcfg := o.Traffic
	gcfg.RunID, gcfg.Marker, gcfg.Track = t.runID, true, true
	if gcfg.ActiveSessions == 0 {
		gcfg.ActiveSessions = int(min(max(rate/2, 1000), 100000))
	}
	var err error
	if t.gen, err = traffic.New(gcfg, h.data); err != nil {
		return nil, err
	}
	nws := t.gen.Config().Workspaces
	t.classes = planClasses(nws, len(o.Rules), o.SlowShare, o.FailingShare, o.Traffic.Seed)
	t.chk = newChecker(t.gen.Ledger(), h.data, h.reveals, o.Rules, t.classes, nws, t.gen.WorkspaceID)
	for c := range numClasses {
		rc := ReceiverConfig{Class: classNames[c], Secret: h.secret, OnDelivery: t.chk.record}
		switch c {
		case classHealthy:
			rc.Delay = o.HealthyDelay
		case classSlow:
			rc.Delay = o.SlowDelay
		case classFailing:
			rc.FailRate = o.FailRate
		}
		t.handlers[c] = h.newReceiver(rc)
	}
	h.mu.Lock()
	h.trials[t.runID] = t
	h.mu.Unlock()
	return t, nil
}

// setup makes the trial's workspaces, webhooks, segments and automations
// and waits for them to take effect. An unavailable admin API is a
// warning (the load runs without webhooks), not an error.
func (t *trial) setup(ctx context.Context, bar *progress) error {
	o, h := t.h.o, t.h
	nws := t.gen.Config().Workspaces
	setupStart := time.Now()
	err := setupWorkspaces(ctx, h.api, t.gen, o.Rules, t.classes, h.recvURL, t.runID, h.secret, o.MaxSubjects,
		func(done, total int) { bar.setup(done, total) })
	bar.endLine()
	switch {
	case errors.Is(err, adminapi.ErrUnavailable):
		t.warnings = append(t.warnings, fmt.Sprintf("the admin API at %s is not available (%v): no webhooks were set up, so no deliveries, latency or correctness were measured", h.tgt.adminURL, err))
		return nil
	case err != nil:
		return err
	}
	t.setupOK = true
	bar.printf("set up %d workspaces × %d automations in %v\n", nws, len(o.Rules), time.Since(setupStart).Round(10*time.Millisecond))
	return sleepCtx(ctx, o.SettleTime)
}

// newProducer makes the producer of the trial's load: Warmup + Duration
// at the trial's rate (with the bursts of Options).
func (t *trial) newProducer() error {
	o := t.h.o
	var err error
	t.prod, err = producer.New(producer.Config{
		Client: t.h.kcl, Topic: t.h.tgt.topics.Raw, Duration: o.Warmup + o.Duration,
		Rate: func(el time.Duration) float64 { return o.Burst.rate(t.rate, el) },
		Source: func(dst []byte, now time.Time) ([]byte, []byte) {
			v, ev := t.gen.Next(dst, now)
			t.byKind[ev.Kind]++
			return v, ev.Key
		},
		OnError: func(key []byte, _ error) { t.gen.Ledger().MarkFailed(key) },
	})
	return err
}

// load produces the trial's load; at the end of the warm-up it captures
// the counters (the measured window starts) and starts the CPU profile,
// and at the end of the load it writes the profiles.
func (t *trial) load(ctx context.Context) (producer.Stats, error) {
	o := t.h.o
	loadDone := make(chan struct{})
	warmDone := make(chan struct{})
	var prof profile
	go func() {
		defer close(warmDone)
		timer := time.NewTimer(o.Warmup)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-loadDone:
			return
		}
		c := t.capture(ctx)
		t.mu.Lock()
		t.atWarm = &c
		t.mu.Unlock()
		if o.CPUProfile != "" {
			prof.start(o.CPUProfile)
		}
	}()
	pstats, perr := t.prod.Run(ctx)
	close(loadDone)
	<-warmDone
	if err := prof.stop(); err != nil {
		t.warnings = append(t.warnings, err.Error())
	}
	if o.MemProfile != "" {
		if err := writeHeapProfile(o.MemProfile); err != nil {
			t.warnings = append(t.warnings, err.Error())
		}
	}
	return pstats, perr
}

// afterDrain reads what is measured once the pipeline caught up: every
// counter (for the CPU of the whole trial), the Redis used_memory and the
// process's high-water RSS.
func (t *trial) afterDrain(ctx context.Context) {
	t.drained = t.capture(ctx)
	t.redisAfter, t.redisAfterErr = t.h.cost.redisUsedMemory(ctx)
	t.highWater, t.highWaterErr = t.h.cost.highWaterRSS()
}

// capture reads every counter now.
func (t *trial) capture(ctx context.Context) cumul {
	snap, err := t.h.scraper.Scrape(ctx)
	ps := t.prod.Stats()
	lv := t.chk.counts()
	c := cumul{at: time.Now(), acked: ps.Acked, scheduled: ps.Scheduled, requests: lv.requests, subjects: lv.subjects}
	c.procCPU, c.procErr = t.h.cost.cpuSeconds()
	if err == nil {
		c.snap = snap
	}
	t.mu.Lock()
	if err != nil && t.scrapeErr == nil {
		t.scrapeErr = err
	}
	if snap != nil {
		t.lastSnap = snap
	}
	t.mu.Unlock()
	return c
}

// sample appends one timeline sample per second until ctx ends.
func (t *trial) sample(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c := t.capture(ctx)
		win := t.chk.takeWindow()
		el := c.at.Sub(t.start)
		phase := phaseMeasure
		switch {
		case t.loadEnded.Load():
			phase = phaseDrain
		case el < t.h.o.Warmup:
			phase = phaseWarmup
		}
		t.mu.Lock()
		p := t.prev
		dt := c.at.Sub(p.at).Seconds()
		if dt <= 0 {
			t.mu.Unlock()
			continue
		}
		s := report.Sample{T: math.Round(el.Seconds()*10) / 10, Phase: phase,
			Produced: float64(c.acked-p.acked) / dt, Requests: float64(c.requests-p.requests) / dt, Subjects: float64(c.subjects-p.subjects) / dt,
			P50Ms: durMs(win.windowP50), P99Ms: durMs(win.windowP99)}
		// Rates describe the interval since the previous sample: so does the target.
		if mid := p.at.Sub(t.start) + c.at.Sub(p.at)/2; mid < t.h.o.Warmup+t.h.o.Duration {
			s.TargetRate = t.h.o.Burst.rate(t.rate, mid)
		}
		if c.snap != nil {
			s.Lag, s.LagTotal = c.snap.Lag, c.snap.TotalLag()
			s.Inflight, s.InflightTotal = c.snap.Inflight, c.snap.TotalInflight()
			s.RSSMB, s.HeapMB = c.snap.RSS/(1<<20), c.snap.HeapInuse/(1<<20)
			if p.snap != nil {
				s.StageIn, s.StageOut = rates(p.snap.RecordsIn, c.snap.RecordsIn, dt), rates(p.snap.RecordsOut, c.snap.RecordsOut, dt)
				s.CPUPercent = (c.snap.CPUSeconds - p.snap.CPUSeconds) / dt * 100
			}
		}
		t.samples = append(t.samples, s)
		t.prev = c
		t.mu.Unlock()
	}
}

// rates returns (b-a)/dt per key of b.
func rates(a, b map[string]float64, dt float64) map[string]float64 {
	out := make(map[string]float64, len(b))
	for k, v := range b {
		out[k] = (v - a[k]) / dt
	}
	return out
}

func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// drain waits after the load for the pipeline to catch up: until the
// backlog (lag plus records in flight) is 0 and every expected webhook of
// healthy and slow endpoints arrived, or nothing arrived for a while, or
// DrainTimeout. It returns how long the backlog took to reach 0 (-1: it
// did not).
func (t *trial) drain(ctx context.Context, loadEnd time.Time) float64 {
	o := t.h.o
	quiet := 5 * time.Second
	if !t.setupOK {
		quiet = time.Second // no webhooks to wait for
	}
	drainSec := -1.0
	lastSubjects, lastChange := t.chk.counts().subjects, time.Now()
	var lastMissingCheck time.Time
	for {
		el := time.Since(loadEnd)
		snap, err := t.h.scraper.Scrape(ctx)
		lag, backlog := math.Inf(1), math.Inf(1)
		if err == nil {
			lag, backlog = snap.TotalLag(), snap.Backlog()
		}
		if backlog == 0 && drainSec < 0 {
			drainSec = el.Seconds()
		}
		if s := t.chk.counts().subjects; s != lastSubjects {
			lastSubjects, lastChange = s, time.Now()
		}
		if el >= o.DrainTimeout || ctx.Err() != nil {
			return drainSec
		}
		// Records still in flight once everything expected has arrived
		// and nothing arrived for the quiet period are retries waiting
		// for failing endpoints: do not wait for them. Once everything
		// expected arrived and the backlog was seen at 0, the drain is
		// over at once; records counted in flight for a moment after the
		// last webhook are work the CPU figure must include, so that
		// alone does not end it (it did: "NOT DRAINED" on healthy runs).
		if lag == 0 && el >= time.Second {
			if t.setupOK && time.Since(lastMissingCheck) >= 2*time.Second {
				lastMissingCheck = time.Now()
				if t.chk.missingHealthy() == 0 && drainSec >= 0 {
					return drainSec
				}
			}
			if time.Since(lastChange) >= quiet {
				return drainSec
			}
		}
		if sleepCtx(ctx, 500*time.Millisecond) != nil {
			return drainSec
		}
	}
}

// sleepCtx sleeps d or until ctx ends (then it returns ctx.Err()).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
