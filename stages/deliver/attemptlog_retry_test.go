package deliver

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

func TestRetryWriteRetriesUntilSuccess(t *testing.T) {
	calls := 0
	err := retryWrite(context.Background(), time.Minute, func(context.Context) error {
		calls++
		if calls < 4 {
			return errors.New("dial tcp: connection refused")
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("retryWrite = %v after %d calls; want nil after 4", err, calls)
	}
}

func TestRetryWriteGivesUpAfterTheBound(t *testing.T) {
	calls := 0
	start := time.Now()
	err := retryWrite(context.Background(), 500*time.Millisecond, func(context.Context) error {
		calls++
		return errors.New("dial tcp: connection refused")
	})
	if err == nil || calls < 2 || time.Since(start) > 2*time.Second {
		t.Fatalf("retryWrite = %v after %d calls in %v; want the error after a few calls within the bound", err, calls, time.Since(start))
	}
}

// failedPipelines counts pipelines that failed (the writer's attempts).
type failedPipelines struct{ n atomic.Int64 }

func (h *failedPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *failedPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *failedPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil {
			h.n.Add(1)
		}
		return err
	}
}

// Regression: entries written while Redis failed over were dropped at the
// first failed write ("attempt log write failed; entries dropped"). They
// are now retried and all land once Redis is back.
func TestAttemptLogEntriesSurviveARedisOutage(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	hook := &failedPipelines{}
	rdb.AddHook(hook)
	var dropped atomic.Int64
	w := newLogWriter(NewAttemptLog(rdb, "t:", 10, time.Hour), zap.NewNop(), func() { dropped.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()

	mr.Close()
	for i := range 3 {
		w.add(logEntry{workspaceID: "ws", webhookID: "wh", a: Attempt{Attempt: i + 1, Outcome: OutcomeSuccess}})
	}
	kafkatest.Eventually(t, 10*time.Second, "writes failing while Redis is down", func() bool { return hook.n.Load() >= 2 })
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	log := NewAttemptLog(rdb, "t:", 10, time.Hour)
	kafkatest.Eventually(t, 20*time.Second, "entries written once Redis is back", func() bool {
		got, err := log.Recent(context.Background(), "ws", "wh", 10)
		return err == nil && len(got) == 3
	})
	cancel()
	close(w.ch)
	<-done
	if n := dropped.Load(); n != 0 {
		t.Fatalf("%d entries counted as dropped; want 0", n)
	}
}
