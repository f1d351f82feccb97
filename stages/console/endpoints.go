package console

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"time"
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
}

type endpointsPage struct {
	Rows      []endpointRow
	Attempts  int
	Truncated bool
}

// endpoints is the Endpoints page (admin only): every webhook of every
// workspace with its health over the last hour from the delivery attempt
// log in Redis, worst first.
func (c *Console) endpoints(w http.ResponseWriter, r *http.Request, s *session) error {
	st := c.svc.Store()
	p := endpointsPage{Attempts: endpointAttempts}
	ctx, cancel := context.WithTimeout(r.Context(), 2*clusterTimeout)
	defer cancel()
	since := c.now().Add(-endpointsWindow)
	for _, ws := range st.WorkspaceIDs() {
		for _, wh := range st.Workspace(ws).ListWebhooks() {
			if len(p.Rows) >= endpointsMax {
				p.Truncated = true
				break
			}
			row := endpointRow{WS: ws, ID: wh.ID, Name: wh.Name, URL: wh.URL, Enabled: wh.Enabled, DisabledReason: wh.DisabledReason, SuccessRate: -1}
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

// worse orders webhooks worst first: disabled, then lower success rate,
// then more failures, then slower p99.
func worse(a, b endpointRow) bool {
	if a.Enabled != b.Enabled {
		return !a.Enabled
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
	return a.P99 > b.P99
}

// quantile is the q-quantile of sorted (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
