package deliver_test

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver"
)

// TestSlowEndpointDoesNotDelayHealthyOneOnItsPartition: one partition, a
// hanging endpoint and a healthy one interleaved; the healthy one's
// subjects arrive within about a second while the slow one hangs, round
// after round (the slow one's queue fills and spills meanwhile).
func TestSlowEndpointDoesNotDelayHealthyOneOnItsPartition(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSubjects = 10
	cfg.QueueSize = 300       // a round's burst of 200 fits; the slow one overflows in round 2
	cfg.Timeout = time.Minute // the slow endpoint hangs for the whole test
	cfg.SpillDelay = time.Minute
	env := newEnv(t, 1, cfg)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	slow := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	fast := newRecorder(t, nil)
	run := startStage(t, env, cfg, newEndpoints(endpoint("wh_slow", slow.url("/slow")), endpoint("wh_fast", fast.url("/fast"))))
	for round := range 3 {
		var reqs []schemas.DeliveryRequest
		for i := range 200 {
			id := round*1000 + i
			reqs = append(reqs, request(id, "wh_slow", schemas.EventNewLead, subject(id)), request(id, "wh_fast", schemas.EventNewLead, subject(id)))
		}
		start := time.Now()
		env.produce(t, reqs...)
		want := (round + 1) * 200
		kafkatest.Eventually(t, 10*time.Second, "healthy endpoint's subjects", func() bool { return len(fast.subjectsFor("/fast")) >= want })
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("round %d: healthy endpoint's %d subjects took %s with a hanging endpoint on the same partition", round, 200, d)
		}
	}
	if st := run.stage.Stats(); st.PeakQueued > 2*int64(cfg.QueueSize) {
		t.Errorf("peak queued %d subjects, over queue_size %d for each of two endpoints", st.PeakQueued, cfg.QueueSize)
	}
	n := 0
	for _, a := range slow.arrivals() {
		if a.webhook == "/slow" {
			n++
		}
	}
	if n != cfg.MaxInFlight {
		t.Errorf("slow endpoint got %d requests, want %d (max_in_flight requests, all hanging)", n, cfg.MaxInFlight)
	}
	// The slow endpoint's overflow was handed to the spill tier, so the
	// partition's offsets moved on past it.
	kafkatest.Eventually(t, 10*time.Second, "spills committed", func() bool {
		return countRecords(t, env, env.Topics.Retry(deliver.TierName(cfg.SpillDelay))) > 0
	})
}

// TestPrivateAddressRefusedAtConnectTime: with allow_private_networks off,
// a URL naming 127.0.0.1, or a name that resolves to it, is refused when
// connecting and the request is dead-lettered; nothing reaches the server.
func TestPrivateAddressRefusedAtConnectTime(t *testing.T) {
	cfg := testConfig()
	cfg.AllowPrivateNetworks = false
	env := newEnv(t, 1, cfg)
	rec := newRecorder(t, nil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(rec.srv.URL, "http://"))
	startStage(t, env, cfg, newEndpoints(
		endpoint("wh_ip", rec.url("/ip")),
		endpoint("wh_name", "http://localhost:"+port+"/name"),
	))
	env.produce(t, request(1, "wh_ip", schemas.EventNewLead, subject(1)), request(2, "wh_name", schemas.EventNewLead, subject(2)))
	dl := env.Consume(t, env.Topics.DeliveriesDLQ, 20*time.Second, func(r []*kgo.Record) bool { return len(r) >= 2 })
	for _, d := range dl {
		if h := header(d, pipeline.HeaderReason); h != deliver.ReasonPrivateAddress {
			t.Errorf("dead letter reason %q, want private_address", h)
		}
		if e := header(d, pipeline.HeaderError); !strings.Contains(e, "not public") {
			t.Errorf("dead letter error %q", e)
		}
	}
	if n := rec.count(); n != 0 {
		t.Fatalf("%d requests reached a loopback server", n)
	}
	a, err := deliver.SendTest(context.Background(), endpoint("wh_ip", rec.url("/ip")), cfg, "t", nil)
	if err != nil || a.Outcome != deliver.OutcomeFailed || !strings.Contains(a.Error, "not public") {
		t.Errorf("SendTest to loopback = %+v, %v; want a failed attempt naming the address rule", a, err)
	}
}

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700:4700::1111": true, "93.184.216.34": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "224.0.0.1": false,
		"255.255.255.255": false, "198.18.0.1": false, "192.0.2.1": false, "::1": false, "::": false,
		"fe80::1": false, "fc00::1": false, "fd12::1": false, "ff02::1": false, "::ffff:127.0.0.1": false,
		"::ffff:8.8.8.8": true, "64:ff9b::a00:1": false, "64:ff9b::808:808": true, "2002:a00:1::": false,
		"2001:db8::1": false,
	} {
		if got := deliver.PublicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = nil // one attempt
	env := newEnv(t, 1, cfg)
	target := newRecorder(t, nil)
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.url("/elsewhere"), http.StatusTemporaryRedirect)
	})
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	env.produce(t, request(1, "wh_a", schemas.EventNewLead, subject(1)))
	dl := env.Consume(t, env.Topics.DeliveriesDLQ, 20*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	if h := header(dl[0], deliver.HeaderLastStatus); h != "307" {
		t.Errorf("last status %q, want 307", h)
	}
	if target.count() != 0 {
		t.Error("the redirect was followed")
	}
}
