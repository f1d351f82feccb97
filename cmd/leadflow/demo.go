package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/leadflow/leadflow/bench"
	"github.com/leadflow/leadflow/bench/producer"
	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/stages/deliver/sink"
	"github.com/leadflow/leadflow/stages/system"
)

// demoSecret signs the demo webhook; the built-in receiver verifies it.
const demoSecret = "demo-secret"

// demoEvery is how often the live view prints.
const demoEvery = 5 * time.Second

// runDemo starts the built-in receiver, creates the demo workspace through
// the admin API, sends a steady trickle of realistic traffic, and prints a
// live view (bench.DemoCounts) every demoEvery, the first payload of each
// event type, and a summary when ctx ends (Ctrl-C).
func runDemo(ctx context.Context, sys *system.System, cfg configs.Config, rate float64, stdout io.Writer) error {
	recv := sink.New(sink.Config{Secret: demoSecret, Quiet: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo receiver: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /demo", recv)
	mux.HandleFunc("GET /latest/{event}", func(w http.ResponseWriter, r *http.Request) {
		got, ok := recv.Latest()[r.PathValue("event")]
		if !ok {
			http.Error(w, "nothing received yet for this event", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(sink.Pretty(got.Body))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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
demo workspace %s
  console: %s/w/%s/webhooks
    (sign in with the token %q)
  webhook %s -> built-in receiver (signatures checked)
  automations: new_lead and reveal_contacts on segment %s
    (persona %s), new_session for every session
  traffic: %.0f events/s: company visitors, ISP visitors, bots, returning
    visitors, a few malformed events
  latest payloads: curl http://%s/latest/new_lead (or new_session,
    contact_revealed)

`, demo.Workspace, adminURL, demo.Workspace, cfg.Admin.Token, demo.WebhookID, demo.SegmentID, demo.PersonaID, rate, ln.Addr())
	bench.WriteDemoLegend(stdout)

	var sent atomic.Uint64
	go func() {
		_ = bench.Trickle(ctx, bench.TrafficOptions{Kafka: cfg.Kafka, Topic: sys.Topics().Raw, Rate: rate,
			OnStats: func(st producer.Stats) { sent.Store(st.Acked) }})
	}()
	start := time.Now()
	shown := map[string]bool{}
	t := time.NewTicker(demoEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			bench.GatherDemoCounts(sys.Registry(), sent.Load(), recv.Stats().SubjectsByEvent).WriteSummary(stdout, time.Since(start))
			return nil
		case <-t.C:
		}
		fmt.Fprintln(stdout)
		bench.GatherDemoCounts(sys.Registry(), sent.Load(), recv.Stats().SubjectsByEvent).Write(stdout, time.Now())
		for event, got := range recv.Latest() {
			if !shown[event] {
				shown[event] = true
				bench.WriteDemoPayload(stdout, event, sink.Pretty(got.Body), fmt.Sprintf("newest: curl http://%s/latest/%s", ln.Addr(), event))
			}
		}
	}
}
