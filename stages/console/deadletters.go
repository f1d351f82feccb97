package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/console/clusterview"
	"github.com/leadflow/leadflow/stages/control"
)

// Bounds of the Dead letters page: the last deadLettersPerPartition
// records of each partition of each dead-letter topic, values cut to
// deadLetterValueBytes.
const (
	deadLettersPerPartition = 50
	deadLetterValueBytes    = 2048
)

// Headers of deliveries.dlq records (stages/deliver/request.go).
const (
	headerWebhook    = "leadflow-webhook"
	headerWorkspace  = "leadflow-workspace-id"
	headerEvent      = "leadflow-event"
	headerAttempt    = "leadflow-attempt"
	headerLastStatus = "leadflow-last-status"
	headerLastError  = "leadflow-last-error"
)

// deadLetter is one row of the Dead letters page.
type deadLetter struct {
	clusterview.Record
	Reason, Stage, Source, Error string
	// Deliveries' dead letters: the webhook, its workspace, the event, the
	// attempts made and the last status.
	Webhook, Workspace, Event, Attempts, LastStatus string
}

type deadLettersPage struct {
	Raw, Deliveries []deadLetter
	// Reasons and Webhooks are the filter choices; Reason and Webhook the
	// chosen ones.
	Reasons, Webhooks []string
	Reason, Webhook   string
	// Counts are the dead letters read, per reason.
	Counts                                 map[string]int
	PerPartition, ValueBytes               int
	RawTopic, DeliveriesTopic, Error, CSRF string
	CanReplay                              bool
}

// deadLetters is the Dead letters page (admin only): the latest records
// of leadflow.dlq and leadflow.deliveries.dlq, filtered by reason and
// webhook, with Replay of one webhook's dead-lettered deliveries.
func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request, s *session) error {
	if c.cluster == nil {
		return &admin.Error{Status: http.StatusNotImplemented, Code: admin.CodeNotImplemented, Message: "This process has no Kafka admin client for the operations pages."}
	}
	p := deadLettersPage{Reason: r.FormValue("reason"), Webhook: r.FormValue("webhook"), Counts: map[string]int{},
		PerPartition: deadLettersPerPartition, ValueBytes: deadLetterValueBytes, RawTopic: c.topics.DLQ,
		DeliveriesTopic: c.topics.DeliveriesDLQ, CSRF: s.CSRF, CanReplay: c.replay != nil}
	ctx, cancel := context.WithTimeout(r.Context(), 2*clusterTimeout)
	defer cancel()
	var errs []string
	for _, topic := range []string{c.topics.DLQ, c.topics.DeliveriesDLQ} {
		recs, err := c.cluster.Latest(ctx, topic, deadLettersPerPartition, deadLetterValueBytes)
		if err != nil {
			errs = append(errs, err.Error())
		}
		for _, rec := range recs {
			dl := deadLetterOf(rec)
			p.Counts[dl.Reason]++
			if !slices.Contains(p.Reasons, dl.Reason) {
				p.Reasons = append(p.Reasons, dl.Reason)
			}
			if dl.Webhook != "" && !slices.Contains(p.Webhooks, dl.Webhook) {
				p.Webhooks = append(p.Webhooks, dl.Webhook)
			}
			if (p.Reason != "" && dl.Reason != p.Reason) || (p.Webhook != "" && dl.Webhook != p.Webhook) {
				continue
			}
			if topic == c.topics.DLQ {
				p.Raw = append(p.Raw, dl)
			} else {
				p.Deliveries = append(p.Deliveries, dl)
			}
		}
	}
	slices.Sort(p.Reasons)
	slices.Sort(p.Webhooks)
	p.Error = strings.Join(errs, "; ")
	return c.render(w, r, http.StatusOK, "deadletters", s, "", "deadletters", "Dead letters", p)
}

func deadLetterOf(rec clusterview.Record) deadLetter {
	h := rec.Headers
	dl := deadLetter{Record: rec, Reason: h[pipeline.HeaderReason], Stage: h[pipeline.HeaderStage], Error: h[pipeline.HeaderError],
		Webhook: h[headerWebhook], Workspace: h[headerWorkspace], Event: h[headerEvent], Attempts: h[headerAttempt],
		LastStatus: h[headerLastStatus]}
	if t := h[pipeline.HeaderSourceTopic]; t != "" {
		dl.Source = t + "[" + h[pipeline.HeaderSourcePartition] + "]@" + h[pipeline.HeaderSourceOffset]
	}
	if dl.Error == "" {
		dl.Error = h[headerLastError]
	}
	if dl.Reason == "" {
		dl.Reason = "unknown"
	}
	return dl
}

// replayTimeout bounds a replay started from the page.
const replayTimeout = 2 * time.Minute

// replayWebhook re-queues one webhook's dead-lettered deliveries, as
// `leadflow replay --from dlq --webhook ID` does, and says how many.
func (c *Console) replayWebhook(w http.ResponseWriter, r *http.Request, _ *session) error {
	id := strings.TrimSpace(r.PostFormValue("webhook"))
	if msg := control.ValidWorkspaceID(id); id == "" || msg != "" {
		return c.redirect(w, r, "/ops/deadletters", flashRefused+"Choose a webhook to replay.")
	}
	if c.replay == nil {
		return &admin.Error{Status: http.StatusNotImplemented, Code: admin.CodeNotImplemented, Message: "This process cannot replay dead letters."}
	}
	ctx, cancel := context.WithTimeout(r.Context(), replayTimeout)
	defer cancel()
	n, err := c.replay(ctx, id)
	if err != nil {
		return c.redirect(w, r, "/ops/deadletters?webhook="+id, flashRefused+"Replay of webhook "+id+" stopped after "+strconv.Itoa(n)+" delivery requests: "+err.Error())
	}
	return c.redirect(w, r, "/ops/deadletters?webhook="+id, "Replayed "+strconv.Itoa(n)+" dead-lettered delivery requests of webhook "+id+".")
}
