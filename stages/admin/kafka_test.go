package admin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/topics"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// TestOnKafka runs the API on a control store backed by Kafka (kfake, or
// the real broker when LEADFLOW_KAFKA_BROKERS is set): a create is visible
// to the GET right after it in the same process, and to another process's
// store within a second.
func TestOnKafka(t *testing.T) {
	env := topicstest.New(t, 1)
	start := func() *control.Store {
		s, err := control.New(env.Kafka, env.Topics.Control, control.WithLogger(zaptest.NewLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	mine, other := start(), start()
	h, err := New(Deps{Store: mine, Token: token, FilterValidator: fakeFilter, URLPolicy: URLPolicy{AllowPrivateNetworks: true}})
	if err != nil {
		t.Fatal(err)
	}
	a := &testAPI{t: t, h: h, store: mine}
	for i := range 20 {
		id := a.createWebhook("ws_k", map[string]any{"url": "http://127.0.0.1:9/hook", "name": "n"})
		a.must(a.do("GET", "/v1/workspaces/ws_k/webhooks/"+id, nil), 200) // no waiting: read-your-writes
		if i%5 == 0 {
			began := time.Now()
			kafkatest.Eventually(t, time.Second, "the other process sees the webhook within a second", func() bool {
				_, ok := other.Webhook("ws_k", id)
				return ok
			})
			t.Logf("in effect in the other process after %s", time.Since(began))
		}
		a.must(a.do("DELETE", "/v1/workspaces/ws_k/webhooks/"+id, nil), 204)
		a.must(a.do("GET", "/v1/workspaces/ws_k/webhooks/"+id, nil), 404)
	}

}

// TestWriteTimeoutIsUnavailable: before the store has loaded, and when the
// control topic does not confirm a change within the write timeout, the
// answer is a 503 that says why; after Close it is a 503 too.
func TestWriteTimeoutIsUnavailable(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kafka := pipeline.DefaultKafkaConfig()
	kafka.Brokers = c.ListenAddrs()
	names := topics.New("t.")
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tc := pipeline.DefaultTopicsConfig()
	tc.ReplicationFactor = 1
	if err := pipeline.EnsureTopics(t.Context(), kadm.NewClient(cl), tc, names.Specs(nil)); err != nil {
		t.Fatal(err)
	}
	store, err := control.New(kafka, names.Control, control.WithLogger(zaptest.NewLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h, err := New(Deps{Store: store, Token: token, WriteTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := &testAPI{t: t, h: h, store: store}
	// Before the store has read the control topic: 503, not a partial list.
	r := a.must(a.do("GET", "/v1/workspaces/ws_1/personas", nil), 503)
	if r.code() != CodeUnavailable || !strings.Contains(r.message(), "still loading") {
		t.Fatalf("before Start: %s", r.raw)
	}
	a.must(a.do("GET", "/v1/openapi.json", nil), 200)
	if err := store.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.must(a.do("POST", "/v1/workspaces/ws_1/personas", map[string]any{"name": "p"}), 201)

	// Every produce now fails until the deadline.
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, errors.New("broker unavailable"), true
	})
	began := time.Now()
	r = a.must(a.do("POST", "/v1/workspaces/ws_1/personas", map[string]any{"name": "p2"}), 503)
	if r.code() != CodeUnavailable || !strings.Contains(r.message(), "may or may not be applied") {
		t.Fatalf("timed-out write: %s", r.raw)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("the write took %s, the timeout is 300ms", took)
	}
	store.Close()
	r = a.must(a.do("POST", "/v1/workspaces/ws_1/personas", map[string]any{"name": "p3"}), 503)
	if !strings.Contains(r.message(), "shutting down") {
		t.Fatalf("write after Close: %s", r.raw)
	}
}
