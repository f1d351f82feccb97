package deliver_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/deliver"
	"github.com/leadflow/leadflow/stages/topics"
)

// newStage builds a deliver stage without a runner (nothing started).
func newStage(t *testing.T) *deliver.Stage {
	t.Helper()
	rdb, _ := kafkatest.Redis(t)
	st, err := deliver.New(testConfig(), deliver.Deps{
		Topics: topics.Names{Deliveries: "deliveries"}, Redis: rdb,
		Logger: zap.NewNop(), Registerer: prometheus.NewRegistry(), Endpoints: newEndpoints(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitGoroutines polls until at most n goroutines run (the stage's have
// returned), failing the test after 5s.
func waitGoroutines(t *testing.T, n int, msg string) {
	t.Helper()
	kafkatest.Eventually(t, 5*time.Second, msg, func() bool { return runtime.NumGoroutine() <= n })
}

// TestNewStartsNothingAndCloseWorksWithoutStart: New starts no goroutine
// (Start does), and Close of a stage never started returns at once, twice,
// without waiting for goroutines that do not exist.
func TestNewStartsNothingAndCloseWorksWithoutStart(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	_ = rdb.Ping(t.Context()).Err() // the client's own goroutines, before the count
	before := runtime.NumGoroutine()
	st, err := deliver.New(testConfig(), deliver.Deps{
		Topics: topics.Names{Deliveries: "deliveries"}, Redis: rdb,
		Logger: zap.NewNop(), Registerer: prometheus.NewRegistry(), Endpoints: newEndpoints(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("New started %d goroutines; Start starts them", n-before)
	}
	if err := st.Process(t.Context(), &pipeline.Batch{}); err == nil {
		t.Fatal("Process before Start returned nil; want an error")
	}
	for range 2 {
		if err := st.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Start(t.Context()); err == nil {
		t.Fatal("Start after Close returned nil; want an error")
	}
	waitGoroutines(t, before, "goroutines left after Close of a stage never started")
}

// TestStartTwiceFailsAndCloseStopsEveryGoroutine: Start starts the stage's
// goroutines once; Close (called twice, as tests and the runner do) stops
// and waits for them.
func TestStartTwiceFailsAndCloseStopsEveryGoroutine(t *testing.T) {
	st := newStage(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(t.Context())
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel() // the stage's work outlives ctx: Close ends it
	if n := runtime.NumGoroutine(); n <= before {
		t.Fatalf("Start started no goroutine (%d before, %d after)", before, n)
	}
	if err := st.Start(t.Context()); err == nil {
		t.Fatal("a second Start returned nil; want an error")
	}
	done := make(chan error, 1)
	go func() { done <- errors.Join(st.Close(t.Context()), st.Close(t.Context())) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	waitGoroutines(t, before, "the stage's goroutines still run after Close")
}
