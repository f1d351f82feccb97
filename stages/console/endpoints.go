package console

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/leadflow/leadflow/stages/deliver"
)

// Bounds of the Endpoints page: at most endpointsMax webhooks, each from
// its endpointAttempts newest logged attempts within endpointsWindow.
const (
	endpointsMax     = 500
	endpointAttempts = 500
	endpointsWindow  = time.Hour
)

// endpointRow is one webhook's health over the window.
type endpointRow struct {
	WS, ID, Name, URL string
	Enabled           bool
	DisabledReason    string
	Requests, Failed  int
	// SuccessRate is the share of attempts that succeeded (-1: none).
	SuccessRate float64
	P50, P99    float64 // ms
	LastStatus  int
	LastError   string
	// Capped is set when the log's newest attempts all fall in the
	// window (there may have been more).
	Capped bool
	Err    string
	// State is the webhook's circuit breaker and queues summed over the
	// deliver processes (deliver.ReadWebhookStates); Breaker "closed"
	// and zero counts when no process holds state for it.
	State deliver.WebhookState
	// BreakerAge is how long the breaker has been in its state ("" not
	// known).
	BreakerAge string
}

type endpointsPage struct {
	Rows      []endpointRow
	Attempts  int
	Truncated bool
	// Processes is how many deliver processes published their state;
	// StateErr says why it could not be read ("" none); NoState is set
	// when this console has no reader of it.
	Processes int
	StateErr  string
	NoState   bool
}

// endpoints is the Endpoints page (admin only): every webhook of every
// workspace with its health over the last hour from the delivery attempt
// log in Redis, worst first.
func (c *Console) endpoints(w http.ResponseWriter, r *http.Request, s *session) error {
	st := c.svc.Store()
	p := endpointsPage{Attempts: endpointAttempts}
	ctx, cancel := context.WithTimeout(r.Context(), 2*clusterTimeout)
	defer cancel()
	now := c.now()
	since := now.Add(-endpointsWindow)
	var states map[string]deliver.WebhookState
	if c.webhookStates == nil {
		p.NoState = true
	} else {
		var err error
		if states, p.Processes, err = c.webhookStates(ctx); err != nil {
			p.StateErr = err.Error()
		}
	}
	for _, ws := range st.WorkspaceIDs() {
		for _, wh := range st.Workspace(ws).ListWebhooks() {
			if len(p.Rows) >= endpointsMax {
				p.Truncated = true
				break
			}
			row := endpointRow{WS: ws, ID: wh.ID, Name: wh.Name, URL: wh.URL, Enabled: wh.Enabled, DisabledReason: wh.DisabledReason, SuccessRate: -1}
			row.State = states[ws+"/"+wh.ID]
			if row.State.Breaker == "" {
				row.State.Breaker = deliver.BreakerClosed
			}
			if !row.State.BreakerSince.IsZero() {
				row.BreakerAge = age(now.Sub(row.State.BreakerSince))
			}
			atts, err := c.svc.Deliveries(ctx, ws, wh.ID, endpointAttempts)
			if err != nil {
				row.Err = err.Error()
			}
			var lat []float64
			for _, a := range atts { // newest first
				if a.Time.Before(since) || a.Test {
					continue
				}
				if row.Requests == 0 {
					row.LastStatus, row.LastError = a.StatusCode, a.Error
				}
				row.Requests++
				if a.Outcome != "success" {
					row.Failed++
				}
				lat = append(lat, a.LatencyMS)
			}
			row.Capped = len(atts) == endpointAttempts && row.Requests == len(atts)
			if row.Requests > 0 {
				row.SuccessRate = float64(row.Requests-row.Failed) / float64(row.Requests)
				slices.Sort(lat)
				row.P50, row.P99 = quantile(lat, 0.5), quantile(lat, 0.99)
			}
			p.Rows = append(p.Rows, row)
		}
	}
	sort.SliceStable(p.Rows, func(i, j int) bool { return worse(p.Rows[i], p.Rows[j]) })
	return c.render(w, r, http.StatusOK, "endpoints", s, "", "endpoints", "Endpoints", p)
}

// worse orders webhooks worst first: disabled, then an open breaker, a
// half-open one, then lower success rate, then more failures, then more
// subjects retrying and queued, then slower p99.
func worse(a, b endpointRow) bool {
	if a.Enabled != b.Enabled {
		return !a.Enabled
	}
	if ra, rb := breakerRank(a.State.Breaker), breakerRank(b.State.Breaker); ra != rb {
		return ra > rb
	}
	ra, rb := a.SuccessRate, b.SuccessRate
	if ra < 0 {
		ra = 1.01 // no traffic sorts after every webhook with traffic
	}
	if rb < 0 {
		rb = 1.01
	}
	if ra != rb {
		return ra < rb
	}
	if a.Failed != b.Failed {
		return a.Failed > b.Failed
	}
	if a.State.Retrying != b.State.Retrying {
		return a.State.Retrying > b.State.Retrying
	}
	if a.State.Queued != b.State.Queued {
		return a.State.Queued > b.State.Queued
	}
	return a.P99 > b.P99
}

// breakerRank orders breaker states from best to worst.
func breakerRank(state string) int {
	switch state {
	case deliver.BreakerOpen:
		return 2
	case deliver.BreakerHalfOpen:
		return 1
	}
	return 0
}

// age is d rounded for a person: 42s, 5m10s, 3h5m.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// quantile is the q-quantile of sorted (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
