package deliver

import (
	"context"
	"time"
)

// Attempt log writes survive a Redis failover: a write that fails is
// retried with backoff for up to attemptLogRetryFor (a Redis Cluster or
// Sentinel failover takes seconds), while new entries wait in the
// writer's bounded queue (logQueue entries; what does not fit is dropped
// and counted in leadflow_deliver_attempt_log_dropped_total, as are the
// entries of a write that still fails after the bound).
const (
	attemptLogRetryFor     = 30 * time.Second
	attemptLogAttemptLimit = 5 * time.Second // one write, at most
	attemptLogBackoff      = 100 * time.Millisecond
	attemptLogBackoffMax   = 2 * time.Second
)

// retryWrite calls write until it succeeds or bound has passed, waiting
// attemptLogBackoff (doubling up to attemptLogBackoffMax) between tries;
// each try gets attemptLogAttemptLimit. Once ctx is done (shutdown) it
// makes no further try after the current one. It returns the last error.
func retryWrite(ctx context.Context, bound time.Duration, write func(context.Context) error) error {
	deadline := time.Now().Add(bound)
	backoff := attemptLogBackoff
	for {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptLogAttemptLimit)
		err := write(wctx)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, attemptLogBackoffMax)
	}
}
