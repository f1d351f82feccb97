package control

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Put writes e to the control topic and returns once this Store has
// applied it, so that a read right after Put sees e. Other processes see
// it within about their fetch max wait. e is validated first (an
// *InvalidError); references to other entities are not checked (the admin
// API does that). Zero CreatedAt and UpdatedAt are set to now. A webhook's
// secret is sealed with the primary secret key when one is configured.
//
// Put is a blind write: two writers that read, change and Put the same
// entity concurrently keep only the later change.
func (s *Store) Put(ctx context.Context, e Entity) error {
	if e == nil {
		return fmt.Errorf("%w: nil entity", ErrInvalid)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	e = e.stamp(s.o.clock())
	value, err := s.keys.encode(e)
	if err != nil {
		return fmt.Errorf("control: encoding %s: %w", e.Ref(), err)
	}
	return s.write(ctx, e.Ref(), value)
}

// Delete writes a tombstone for r and returns once this Store has applied
// it. Deleting what does not exist is not an error. It does not check
// whether automations still use r (the admin API does).
func (s *Store) Delete(ctx context.Context, r Ref) error {
	f := fieldErrs{kind: r.Kind}
	if r.Kind.IDPrefix() == "" {
		f.add("kind", fmt.Sprintf("unknown kind %q", r.Kind))
	} else {
		f.id("id", r.ID, r.Kind)
	}
	if msg := ValidWorkspaceID(r.Workspace); msg != "" {
		f.add("workspace_id", msg)
	}
	if err := f.err(); err != nil {
		return err
	}
	return s.write(ctx, r, nil)
}

// DisableWebhook disables the webhook id of workspace ws with reason (cut
// to MaxReasonLen bytes): the deliver stage calls it when an endpoint
// answers 410 Gone. It is a no-op when the webhook is already disabled
// for the same reason, and ErrNotFound when it does not exist. Like Put,
// it returns once the change is applied here.
func (s *Store) DisableWebhook(ctx context.Context, ws, id, reason string) error {
	w, ok := s.Webhook(ws, id)
	if !ok {
		return fmt.Errorf("%w: webhook %s/%s", ErrNotFound, ws, id)
	}
	reason = cutUTF8(reason, MaxReasonLen)
	if !w.Enabled && w.DisabledReason == reason {
		return nil
	}
	w.Enabled, w.DisabledReason = false, reason
	w.UpdatedAt = s.o.clock().UTC().Truncate(time.Microsecond)
	if err := s.Put(ctx, w); err != nil {
		return err
	}
	s.log.Warn("control: webhook disabled", zap.Object("webhook", w), zap.String("reason", reason))
	return nil
}

// Reseal rewrites every webhook whose secrets are not sealed with the
// primary secret key (written before a key was configured, or with a
// previous key), and returns how many it rewrote; a second run rewrites
// none. Run it (`leadflow secrets reseal`) after every process has the new
// key as secret_key and the old one in secret_key_previous; remove the old
// key after it has run. It may run while the pipeline runs: each webhook is
// read again just before it is rewritten, so only a change made in that
// instant by another process could be lost (last writer wins, as for any
// two writers).
func (s *Store) Reseal(ctx context.Context) (int, error) {
	n := 0
	for _, ws := range s.WorkspaceIDs() {
		for _, id := range sortedKeys(s.Workspace(ws).stale) {
			wh, ok := s.Webhook(ws, id) // the latest version
			if !ok {
				continue
			}
			if err := s.Put(ctx, wh); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// write produces one record (nil value: tombstone) and waits until this
// Store has applied it.
func (s *Store) write(ctx context.Context, r Ref, value []byte) error {
	s.mu.Lock()
	started, closed := s.started, s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case !started:
		return ErrNotStarted
	}
	rec := &kgo.Record{Topic: s.topic, Key: []byte(r.Key()), Value: value}
	if s.mem {
		s.applyMu.Lock()
		defer s.applyMu.Unlock()
		rec.Offset = s.memOffset
		s.memOffset++
		s.memLog = append(s.memLog, rec)
		s.applyLocked([]*kgo.Record{rec})
		return nil
	}
	// Not ProduceSync: it waits for the broker however long that takes
	// (an idempotent producer cannot drop a record in flight). The record
	// may still be written after ctx ends, within produceTimeout.
	s.mu.Lock()
	tbl := s.table
	s.mu.Unlock()
	if tbl == nil || tbl.Client() == nil {
		return ErrNotStarted
	}
	produced := make(chan error, 1)
	tbl.Client().Produce(ctx, rec, func(_ *kgo.Record, err error) { produced <- err })
	select {
	case err := <-produced:
		if err != nil {
			return fmt.Errorf("control: writing %s to %s: %w", r, s.topic, err)
		}
	case <-ctx.Done():
		return fmt.Errorf("control: writing %s to %s: not acknowledged yet, it may or may not be written: %w", r, s.topic, context.Cause(ctx))
	}
	return s.waitApplied(ctx, r, rec.Partition, rec.Offset)
}

// waitApplied waits until the follower has applied offset of partition.
func (s *Store) waitApplied(ctx context.Context, r Ref, partition int32, offset int64) error {
	for {
		s.mu.Lock()
		done, ch := s.applied[partition] > offset, s.changed
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-s.done:
			return ErrClosed
		case <-ctx.Done():
			return fmt.Errorf("control: %s was written (offset %d) but this process has not read it back yet: %w", r, offset, context.Cause(ctx))
		}
	}
}

func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
