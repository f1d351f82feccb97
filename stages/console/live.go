package console

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/goccy/go-json"
)

// Bounds of the Live leads page: the last livePerPartition records of
// each partition of leads.changes and deliveries (values up to
// liveValueBytes; a longer one is left out), and at most liveRows leads.
const (
	livePerPartition = 200
	liveValueBytes   = 256 << 10
	liveRows         = 50
	liveRefresh      = 5 // seconds
)

// liveChange is what the page reads of a leads.changes record.
type liveChange struct {
	Kind        string `json:"kind"`
	WorkspaceID string `json:"workspace_id"`
	Stats       struct {
		Sessions int64 `json:"sessions"`
	} `json:"stats"`
	Lead struct {
		ID        int64  `json:"id"`
		FirstSeen string `json:"first_seen"`
		LastSeen  string `json:"last_seen"`
		Company   struct {
			Name   string `json:"name"`
			Domain string `json:"domain"`
		} `json:"company"`
	} `json:"lead"`
}

// liveRequest is what the page reads of a deliveries record: one
// delivery request, or an envelope of them.
type liveRequest struct {
	WorkspaceID  string `json:"workspace_id"`
	WebhookID    string `json:"webhook_id"`
	AutomationID string `json:"automation_id"`
	Event        string `json:"event"`
	Subject      struct {
		ID int64 `json:"id"`
	} `json:"subject"`
	Requests []liveRequest `json:"requests"`
}

// liveLead is one row of the page.
type liveLead struct {
	ID                            int64
	Company, Domain               string
	FirstSeen, LastSeen, LastKind string
	Sessions                      int64
	Automations, Webhooks, Events []string
}

type livePage struct {
	Leads                 []liveLead
	Error                 string
	Refresh, PerPartition int
	ChangesTopic, Queue   string
}

// liveLeads is a workspace's Live leads page: its latest leads from
// leads.changes, with the automations that fired for each and the
// webhooks their requests were queued for (deliveries), reloading itself.
func (c *Console) liveLeads(w http.ResponseWriter, r *http.Request, s *session) error {
	ws := r.PathValue("ws")
	p := livePage{Refresh: liveRefresh, PerPartition: livePerPartition, ChangesTopic: c.topics.LeadChanges, Queue: c.topics.Deliveries}
	if c.cluster == nil {
		p.Error = "this process has no Kafka client for the live page"
		return c.render(w, r, http.StatusOK, "live", s, ws, "live", "Live leads", p)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*clusterTimeout)
	defer cancel()
	changes, err1 := c.cluster.Latest(ctx, c.topics.LeadChanges, livePerPartition, liveValueBytes)
	queued, err2 := c.cluster.Latest(ctx, c.topics.Deliveries, livePerPartition, liveValueBytes)
	if err := errorsText(err1, err2); err != "" {
		p.Error = err
	}
	byID := map[int64]*liveLead{}
	var order []int64
	for _, rec := range changes { // newest first
		var ch liveChange
		if rec.Truncated || json.Unmarshal([]byte(rec.Value), &ch) != nil || ch.WorkspaceID != ws {
			continue
		}
		if _, seen := byID[ch.Lead.ID]; seen || len(order) >= liveRows {
			continue
		}
		byID[ch.Lead.ID] = &liveLead{ID: ch.Lead.ID, Company: ch.Lead.Company.Name, Domain: ch.Lead.Company.Domain,
			FirstSeen: ch.Lead.FirstSeen, LastSeen: ch.Lead.LastSeen, LastKind: ch.Kind, Sessions: ch.Stats.Sessions}
		order = append(order, ch.Lead.ID)
	}
	snap := c.svc.Store().Workspace(ws)
	for _, rec := range queued {
		var rq liveRequest
		if rec.Truncated || json.Unmarshal([]byte(rec.Value), &rq) != nil {
			continue
		}
		for _, q := range append(rq.Requests, rq) {
			l := byID[q.Subject.ID]
			if q.WorkspaceID != ws || l == nil {
				continue
			}
			name := q.AutomationID
			if a, ok := snap.Automation(q.AutomationID); ok {
				name = a.Name
			}
			hook := q.WebhookID
			if wh, ok := snap.Webhook(q.WebhookID); ok && wh.Name != "" {
				hook = wh.Name
			}
			addOnce(&l.Automations, name)
			addOnce(&l.Webhooks, hook)
			addOnce(&l.Events, q.Event)
		}
	}
	for _, id := range order {
		p.Leads = append(p.Leads, *byID[id])
	}
	return c.render(w, r, http.StatusOK, "live", s, ws, "live", "Live leads", p)
}

func addOnce(list *[]string, v string) {
	if v != "" && !slices.Contains(*list, v) {
		*list = append(*list, v)
	}
}

func errorsText(errs ...error) string {
	var out []string
	for _, err := range errs {
		if err != nil {
			out = append(out, err.Error())
		}
	}
	return strings.Join(out, "; ")
}
