package deliver

import (
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
)

// holdRef shares one pipeline.Hold among the items of a batch: the hold is
// released when the last of them is delivered or handed on.
type holdRef struct {
	h *pipeline.Hold
	n atomic.Int32
}

func newHoldRef(h *pipeline.Hold) *holdRef {
	r := &holdRef{h: h}
	r.n.Store(1) // the Process call's own count
	return r
}

func (r *holdRef) add() { r.n.Add(1) }

func (r *holdRef) release() {
	if r.n.Add(-1) == 0 {
		r.h.Done()
	}
}

// request is one webhook request: up to max_subjects items of one event
// for one endpoint. Until it is sealed it is an open batch; once sealed
// its items, body and message id never change ("fixed"), so retries
// resend the same bytes under the same webhook-id.
type request struct {
	workspaceID, webhookID string
	event                  string
	items                  []*item
	subjectBytes           int

	sealed bool
	body   *[]byte // pooled; set when sealed
	msgID  string

	attempt      int       // attempts made so far
	firstAttempt time.Time // zero until the first attempt
	firstSeen    time.Time // oldest item's first sighting (max_age)
	lastErr      string
	lastStatus   int
	deferrals    int       // waits that used up no attempt
	notBefore    time.Time // an in-process retry waits until then
}

// fixed reports whether the request's batch can no longer change: it has
// been attempted (its webhook-id was sent) and must be resent as it is.
func (r *request) fixed() bool { return r.attempt > 0 }

func (r *request) add(it *item) {
	r.items = append(r.items, it)
	r.subjectBytes += len(it.subject)
	if r.firstSeen.IsZero() || it.firstSeen.Before(r.firstSeen) {
		r.firstSeen = it.firstSeen
	}
}

// seal orders the subjects by trigger time (stable: arrival order breaks
// ties), derives the webhook-id and builds the body.
func (r *request) seal(s *Stage, legacy bool) {
	if r.sealed {
		return
	}
	r.sealed = true
	if !r.fixed() && !slices.IsSortedFunc(r.items, byTrigger) {
		slices.SortStableFunc(r.items, byTrigger)
	}
	ids := make([][]byte, len(r.items))
	subjects := make([][]byte, len(r.items))
	for i, it := range r.items {
		ids[i] = it.id
		subjects[i] = it.subject
	}
	r.msgID = MessageID(r.webhookID, ids...)
	r.body = s.getBody()
	*r.body = schemas.AppendPayload((*r.body)[:0], schemas.WireEvent(r.event, legacy), subjects)
}

// unseal drops the body (before a hand-off, or when an unattempted batch
// goes back to being re-batchable).
func (r *request) unseal(s *Stage) {
	if r.body != nil {
		s.putBody(r.body)
		r.body = nil
	}
	r.sealed = false
}

func byTrigger(a, b *item) int { return a.triggeredAt.Compare(b.triggeredAt) }

// Headers of retry and dead-letter records. Dead letters also carry
// pipeline.HeaderError, HeaderReason and HeaderStage.
const (
	// HeaderDue is when a retry record is due, unix milliseconds.
	HeaderDue = "leadflow-due"
	// HeaderAttempt is the number of attempts made so far (0: the
	// request was spilled or deferred before it was ever sent; its
	// subjects are batched again).
	HeaderAttempt = "leadflow-attempt"
	// HeaderFirstAttempt is when the first attempt was made, RFC 3339.
	HeaderFirstAttempt = "leadflow-first-attempt"
	// HeaderFirstSeen is when the stage first saw the oldest subject, RFC 3339.
	HeaderFirstSeen = "leadflow-first-seen"
	// HeaderMessageID is the request's webhook-id.
	HeaderMessageID = "leadflow-webhook-id"
	// HeaderLastError is the last attempt's error.
	HeaderLastError = "leadflow-last-error"
	// HeaderLastStatus is the last attempt's HTTP status (0: no answer).
	HeaderLastStatus = "leadflow-last-status"
	// HeaderDeferrals counts waits that used up no attempt.
	HeaderDeferrals = "leadflow-deferrals"
	// HeaderWorkspace and HeaderWebhook name the endpoint (the key is
	// the webhook id too).
	HeaderWorkspace = "leadflow-workspace-id"
	HeaderWebhook   = "leadflow-webhook"
	// HeaderEvent is the internal event name of the request.
	HeaderEvent = "leadflow-event"
	// HeaderNotBefore is when a request waiting for a Retry-After may be
	// sent, unix milliseconds (later than HeaderDue when no tier is as
	// long as the wait: see Stage.takeTier).
	HeaderNotBefore = "leadflow-not-before"
)

// stateHeaders are the headers that carry r's retry state.
func (r *request) stateHeaders(due time.Time) []kgo.RecordHeader {
	hs := make([]kgo.RecordHeader, 0, 12)
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderWorkspace, Value: []byte(r.workspaceID)},
		kgo.RecordHeader{Key: HeaderWebhook, Value: []byte(r.webhookID)},
		kgo.RecordHeader{Key: HeaderEvent, Value: []byte(r.event)},
		kgo.RecordHeader{Key: HeaderAttempt, Value: strconv.AppendInt(nil, int64(r.attempt), 10)},
		kgo.RecordHeader{Key: HeaderDeferrals, Value: strconv.AppendInt(nil, int64(r.deferrals), 10)},
		kgo.RecordHeader{Key: HeaderFirstSeen, Value: r.firstSeen.UTC().AppendFormat(nil, time.RFC3339Nano)},
	)
	if !due.IsZero() {
		hs = append(hs, kgo.RecordHeader{Key: HeaderDue, Value: strconv.AppendInt(nil, dueMillis(due), 10)})
		if r.notBefore.After(due) {
			hs = append(hs, kgo.RecordHeader{Key: HeaderNotBefore, Value: strconv.AppendInt(nil, dueMillis(r.notBefore), 10)})
		}
	}
	if r.fixed() {
		hs = append(hs,
			kgo.RecordHeader{Key: HeaderMessageID, Value: []byte(r.msgID)},
			kgo.RecordHeader{Key: HeaderFirstAttempt, Value: r.firstAttempt.UTC().AppendFormat(nil, time.RFC3339Nano)},
			kgo.RecordHeader{Key: HeaderLastError, Value: []byte(r.lastErr)},
			kgo.RecordHeader{Key: HeaderLastStatus, Value: strconv.AppendInt(nil, int64(r.lastStatus), 10)},
		)
	}
	return hs
}

// retryState is what a retry record's headers say.
type retryState struct {
	due          time.Time
	attempt      int
	deferrals    int
	firstAttempt time.Time
	firstSeen    time.Time
	lastErr      string
	lastStatus   int
	msgID        string
	notBefore    time.Time
}

func parseState(hs []kgo.RecordHeader) retryState {
	var st retryState
	for _, h := range hs {
		v := string(h.Value)
		switch h.Key {
		case HeaderDue:
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				st.due = time.UnixMilli(ms)
			}
		case HeaderAttempt:
			st.attempt, _ = strconv.Atoi(v)
		case HeaderDeferrals:
			st.deferrals, _ = strconv.Atoi(v)
		case HeaderFirstAttempt:
			st.firstAttempt, _ = time.Parse(time.RFC3339Nano, v)
		case HeaderFirstSeen:
			st.firstSeen, _ = time.Parse(time.RFC3339Nano, v)
		case HeaderLastError:
			st.lastErr = v
		case HeaderLastStatus:
			st.lastStatus, _ = strconv.Atoi(v)
		case HeaderMessageID:
			st.msgID = v
		case HeaderNotBefore:
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				st.notBefore = time.UnixMilli(ms)
			}
		}
	}
	return st
}

// dueOf returns a retry record's due time (zero: due now).
// dueMillis is due in unix milliseconds, rounded up: a retry is never
// sent before its wait (truncating sent some up to 1 ms early).
func dueMillis(due time.Time) int64 {
	ms := due.UnixMilli()
	if due.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

func dueOf(rec *kgo.Record) time.Time {
	for _, h := range rec.Headers {
		if h.Key == HeaderDue {
			if ms, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil {
				return time.UnixMilli(ms)
			}
		}
	}
	return time.Time{}
}
