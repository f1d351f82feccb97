package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// startStage records its lifecycle (pipeline.Starter, Closer) and the
// Process calls around it. startErr, if set, is what Start returns.
type startStage struct {
	in       string
	startErr error

	mu             sync.Mutex
	events         []string // "start", "process", "close", in call order
	startCtx       context.Context
	ctxDoneAtClose bool // Start's ctx had ended when Close was called
	processed      int
}

func (s *startStage) Name() string     { return "starter" }
func (s *startStage) Inputs() []string { return []string{s.in} }
func (s *startStage) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "start")
	s.startCtx = ctx
	return s.startErr
}
func (s *startStage) Process(_ context.Context, b *pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "process")
	s.processed += len(b.Records)
	return nil
}
func (s *startStage) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "close")
	s.ctxDoneAtClose = s.startCtx != nil && s.startCtx.Err() != nil
	return nil
}

// count returns how many times ev was recorded, and the events so far.
func (s *startStage) count(ev string) (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e == ev {
			n++
		}
	}
	return n, append([]string(nil), s.events...)
}

// TestRunStartsTheStageOnceBeforeItsFirstProcess: the Runner calls Start
// once, before any Process call, with a context that is still alive when
// it closes the stage (the stage's goroutines are stopped by Close, not by
// Run's context).
func TestRunStartsTheStageOnceBeforeItsFirstProcess(t *testing.T) {
	env := newEnv(t, 3)
	produceN(t, env, inTopic(env), 6, 10)
	st := &startStage{in: inTopic(env)}
	run := start(t, env, st, testConfig(), nil)
	kafkatest.Eventually(t, 30*time.Second, "every record processed", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.processed >= 60
	})
	run.stop()

	starts, events := st.count("start")
	if starts != 1 || events[0] != "start" {
		t.Fatalf("Start called %d times, events %v; want once, first", starts, events)
	}
	if closes, _ := st.count("close"); closes != 1 || events[len(events)-1] != "close" {
		t.Fatalf("Close called %d times, events %v; want once, last", closes, events)
	}
	if st.ctxDoneAtClose {
		t.Fatal("Start's context had ended when the runner closed the stage")
	}
}

// TestRunReturnsTheStartErrorAndStillCloses: a Start error stops Run
// before it processes anything; Run returns that error and still closes
// the stage.
func TestRunReturnsTheStartErrorAndStillCloses(t *testing.T) {
	env := newEnv(t, 1)
	produceN(t, env, inTopic(env), 1, 5)
	boom := errors.New("boom")
	st := &startStage{in: inTopic(env), startErr: boom}
	r, err := pipeline.NewRunner(st, testConfig(), pipeline.Deps{
		Logger: zap.NewNop(), Metrics: testMetrics(t), Group: env.Group("start"), DeadLetterTopic: env.DeadLetter, Kafka: env.Kafka,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel() // Run must return without it
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, 5*time.Second) }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after Start failed")
	}
	if !errors.Is(err, boom) {
		t.Fatalf("Run returned %v; want the Start error", err)
	}
	_, events := st.count("")
	if want := []string{"start", "close"}; len(events) != 2 || events[0] != want[0] || events[1] != want[1] {
		t.Fatalf("events %v; want %v (no Process after a failed Start, Close still called)", events, want)
	}
}

// TestCloseOfARunnerThatNeverRanClosesItsStage: a process that fails
// before running its runners (a preflight, a port in use) closes them;
// each closes its stage once, never starts it, and a Close after that
// does nothing.
func TestCloseOfARunnerThatNeverRanClosesItsStage(t *testing.T) {
	st := &startStage{in: "in"}
	r, err := pipeline.NewRunner(st, testConfig(), runnerDeps(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if _, events := st.count(""); len(events) != 1 || events[0] != "close" {
		t.Fatalf("events %v; want [close] (closed once, never started)", events)
	}
}
