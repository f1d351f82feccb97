package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/leadflow/leadflow/bench"
	"github.com/leadflow/leadflow/bench/producer"
	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver/sink"
	"github.com/leadflow/leadflow/stages/system"
)

// demoSecret signs the demo webhook; the built-in receiver verifies it.
const demoSecret = "demo-secret"

// runDemo starts the built-in receiver, creates the demo workspace through
// the admin API, sends a steady trickle of realistic traffic, and prints a
// compact live view every two seconds until ctx ends.
func runDemo(ctx context.Context, sys *system.System, cfg configs.Config, rate float64, stdout io.Writer) error {
	recv := sink.New(sink.Config{Secret: demoSecret, Quiet: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo receiver: %w", err)
	}
	srv := &http.Server{Handler: recv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	for sys.Ready(ctx) != nil || sys.HTTPAddr() == nil {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	adminURL := "http://" + sys.HTTPAddr().String()
	demo, err := bench.SetupDemo(ctx, bench.DemoOptions{AdminURL: adminURL, Token: cfg.Admin.Token,
		ReceiverURL: "http://" + ln.Addr().String() + "/demo", Secret: demoSecret})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
demo workspace %s: webhook %s -> built-in receiver http://%s/demo (signatures checked)
  automations: new_lead, new_session, reveal_contacts (segment %s, persona %s)
  traffic: %.0f events/s of company visitors, ISP visitors, bots, returning visitors, a few malformed events
  console: %s/w/%s/webhooks (sign in with the token %q)
  try:  curl -s -H 'Authorization: Bearer %s' %s/v1/workspaces/%s/webhooks/%s/deliveries

`, demo.Workspace, demo.WebhookID, ln.Addr(), demo.SegmentID, demo.PersonaID, rate, adminURL, demo.Workspace, cfg.Admin.Token, cfg.Admin.Token, adminURL, demo.Workspace, demo.WebhookID)

	var sent atomic.Uint64
	go func() {
		_ = bench.Trickle(ctx, bench.TrafficOptions{Kafka: cfg.Kafka, Topic: sys.Topics().Raw, Rate: rate,
			OnStats: func(st producer.Stats) { sent.Store(st.Acked) }})
	}()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		m := gather(sys)
		st := recv.Stats()
		fmt.Fprintf(stdout, "%s  events in %d | hits %d, dropped %d, bad %d | leads %d, sessions %d | webhooks: new_lead %d, new_session %d, contact_revealed %d | failed %d\n",
			time.Now().Format("15:04:05"), sent.Load(),
			int64(m["leadflow_enrich_hits_total"]), int64(m["leadflow_enrich_dropped_total"]), int64(m["leadflow_dead_letters_total"]),
			int64(m["leadflow_leads_created_total"]), int64(m["leadflow_leads_sessions_created_total"]),
			st.SubjectsByEvent[schemas.EventNewLead], st.SubjectsByEvent[schemas.EventNewSession], st.SubjectsByEvent[schemas.EventContactRevealed],
			int64(m["leadflow_deliver_failed"]))
	}
}

// gather sums the process's counters by metric name, for the live view.
func gather(sys *system.System) map[string]float64 {
	out := map[string]float64{}
	mfs, err := sys.Registry().Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := counterValue(m)
			out[mf.GetName()] += v
			for _, l := range m.GetLabel() {
				if mf.GetName() == "leadflow_deliver_requests_total" && l.GetName() == "outcome" && (l.GetValue() == "retry" || l.GetValue() == "dlq" || l.GetValue() == "disabled") {
					out["leadflow_deliver_failed"] += v
				}
			}
		}
	}
	return out
}

func counterValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return 0
}
