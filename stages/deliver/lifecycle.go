package deliver

import (
	"context"
	"time"
)

// Shutdown starts a fast, lossless stop; call it when the process begins
// to stop (when the context given to pipeline.Runner.Run is canceled),
// concurrently with the runner's drain. From then on open batches are sent
// at once (no linger), and work that would wait in process is handed to
// its retry tier instead, so that every input record is either delivered
// or handed on well within the shutdown timeout and the runner can commit
// it: requests waiting for an in-process retry, an open breaker or a
// Retry-After, and retry-tier records that are not due yet (written back
// to their tier). Requests in flight finish (within timeout). Without
// Shutdown nothing is lost either: the runner waits for its shutdown
// timeout and abandons what is unfinished, to be processed again.
func (s *Stage) Shutdown() {
	if !s.stopping.CompareAndSwap(false, true) {
		return
	}
	close(s.stopCh)
	now := s.now()
	eps := s.allEndpoints()
	for _, e := range eps {
		var p plan
		e.mu.Lock()
		for i := range e.open {
			e.sealLocked(i)
		}
		keep := e.ready[:0]
		for _, r := range e.ready {
			if r.notBefore.After(now) {
				e.countLocked(-len(r.items), -r.subjectBytes)
				p.hands = append(p.hands, handoff{r: r, delay: max(r.notBefore.Sub(now), time.Millisecond)})
				continue
			}
			keep = append(keep, r)
		}
		clear(e.ready[len(keep):])
		e.ready = keep
		e.dispatchLocked(now, &p)
		e.mu.Unlock()
		s.run(e, &p)
	}

	s.requeueWaits()
	s.tmu.Lock()
	var tps []*tierPart
	for _, tp := range s.tparts {
		tps = append(tps, tp)
	}
	s.tmu.Unlock()
	for _, tp := range tps {
		tp.mu.Lock()
		if tp.stop != nil {
			tp.stop()
			tp.stop = nil
		}
		for _, w := range tp.waiting {
			s.untrackTier(w.rec)
			s.requeueTier(w.rec, w.ref)
			w.ref.release() // requeueTier took its own count
		}
		clear(tp.waiting)
		tp.waiting = nil
		if tp.resume != nil {
			tp.resume()
			tp.resume = nil
		}
		tp.mu.Unlock()
	}
}

// Drain is Shutdown, for the runner (pipeline.Drainer): it calls it when
// its Run context is canceled.
func (s *Stage) Drain(context.Context) error {
	s.Shutdown()
	return nil
}

// Close stops the stage after its runner has returned (the runner calls
// it, pipeline.Closer; calling it again does nothing): it cancels what is
// still in flight (abandoned, so processed again by the next owner),
// writes the last attempt log entries, and waits for every goroutine the
// stage started. Its hand-offs were produced by the runner, which has
// drained them (or abandoned them, uncommitted) before it returned. It
// works whether or not Start ran; Start after Close fails.
func (s *Stage) Close(context.Context) error {
	s.Shutdown()
	s.lmu.Lock()
	if s.closed.Load() {
		s.lmu.Unlock()
		return nil
	}
	s.closed.Store(true)
	started := s.started.Load()
	s.lmu.Unlock()
	if started {
		s.cancel()
		s.wg.Wait()
		close(s.logw.ch)
		s.logWG.Wait()
	}
	s.sender.close()
	return nil
}
