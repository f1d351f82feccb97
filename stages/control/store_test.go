package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// The tests run against kfake, or the real broker when
// LEADFLOW_KAFKA_BROKERS is set.

var (
	keyA = bytes.Repeat([]byte{0xA1}, SecretKeyLen)
	keyB = bytes.Repeat([]byte{0xB2}, SecretKeyLen)
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newKafkaStore returns a started Store on env's control topic, closed when t ends.
func newKafkaStore(t testing.TB, env *topicstest.Env, opts ...Opt) *Store {
	t.Helper()
	s := newUnstarted(t, env, opts...)
	if err := s.Start(ctxT(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s
}

func newUnstarted(t testing.TB, env *topicstest.Env, opts ...Opt) *Store {
	t.Helper()
	opts = append([]Opt{WithLogger(zaptest.NewLogger(t))}, opts...)
	s, err := New(env.Kafka, env.Topics.Control, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func put(t testing.TB, s *Store, e Entity) {
	t.Helper()
	if err := s.Put(ctxT(t), e); err != nil {
		t.Fatalf("Put %s: %v", e.Ref(), err)
	}
}

func webhook(ws, id string) Webhook {
	return Webhook{ID: id, WorkspaceID: ws, URL: "https://hooks.example.com/" + id, Name: "hook " + id,
		MaxSubjects: DefaultMaxSubjects, Enabled: true}
}

func automation(ws, id, webhookID string, created time.Time) Automation {
	return Automation{ID: id, WorkspaceID: ws, Name: "auto " + id, Trigger: TriggerNewLead,
		Action: Action{Type: ActionWebhook, WebhookID: webhookID}, Enabled: true, CreatedAt: created}
}

// encoded returns the records an in-memory store with opts writes for es.
func encoded(t testing.TB, es []Entity, opts ...Opt) []*kgo.Record {
	t.Helper()
	mem, err := NewInMemory(opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		put(t, mem, e)
	}
	return mem.memLog
}

func produceRaw(t testing.TB, env *topicstest.Env, recs ...*kgo.Record) {
	t.Helper()
	out := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		out[i] = &kgo.Record{Topic: env.Topics.Control, Key: r.Key, Value: r.Value}
	}
	env.Produce(t, out...)
}

func TestStoreMaterialisesBeforeReady(t *testing.T) {
	env := topicstest.New(t, 1)
	const n = 600
	var es []Entity
	for i := range n {
		es = append(es, webhook(fmt.Sprintf("ws_%d", i%7), fmt.Sprintf("wh_%04d", i)))
	}
	// Overwrite and delete some, so order matters.
	es = append(es, Webhook{ID: "wh_0001", WorkspaceID: "ws_1", URL: "https://new.example.com/", Name: "renamed",
		MaxSubjects: 5, Enabled: true})
	recs := encoded(t, es)
	recs = append(recs, &kgo.Record{Key: []byte("webhook/ws_2/wh_0002")}) // tombstone
	produceRaw(t, env, recs...)

	s := newUnstarted(t, env)
	if err := s.Ready(); !errors.Is(err, ErrNotStarted) || !Loading(err) {
		t.Fatalf("Ready before Start = %v, want ErrNotStarted", err)
	}
	if err := s.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready after Start = %v", err)
	}
	// Everything is there the moment Start returns: no polling.
	total := 0
	for _, ws := range s.WorkspaceIDs() {
		total += len(s.Workspace(ws).ListWebhooks())
	}
	if total != n-1 {
		t.Fatalf("%d webhooks after Start, want %d", total, n-1)
	}
	if w, _ := s.Webhook("ws_1", "wh_0001"); w.Name != "renamed" || w.MaxSubjects != 5 {
		t.Fatalf("wh_0001 = %+v, want the later version", w)
	}
	if _, ok := s.Webhook("ws_2", "wh_0002"); ok {
		t.Fatal("wh_0002 was deleted but is there")
	}
}

func TestStoreEmptyTopicIsReady(t *testing.T) {
	env := topicstest.New(t, 1)
	s := newKafkaStore(t, env)
	if err := s.Ready(); err != nil {
		t.Fatal(err)
	}
	if ids := s.WorkspaceIDs(); len(ids) != 0 {
		t.Fatalf("workspaces %v in an empty topic", ids)
	}
}

func TestStoreStartFailsWithoutTopic(t *testing.T) {
	env := topicstest.New(t, 1)
	s, err := New(env.Kafka, env.Topics.Prefix+"no-such-topic", WithLogger(zaptest.NewLogger(t)),
		func(o *options) { o.topicWait = 500 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = s.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "no-such-topic") {
		t.Fatalf("Start = %v, want an error naming the topic", err)
	}
	if s.Ready() == nil {
		t.Fatal("Ready after a failed Start")
	}
}

func TestStoreReadYourWrites(t *testing.T) {
	env := topicstest.New(t, 1)
	s := newKafkaStore(t, env)
	for i := range 30 {
		id := fmt.Sprintf("wh_%03d", i)
		put(t, s, webhook("ws_1", id))
		// No polling: Put returns after the record is applied here.
		if _, ok := s.Webhook("ws_1", id); !ok {
			t.Fatalf("webhook %s missing right after Put", id)
		}
		if err := s.Delete(ctxT(t), Ref{KindWebhook, "ws_1", id}); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Webhook("ws_1", id); ok {
			t.Fatalf("webhook %s still there right after Delete", id)
		}
	}
}

func TestStoreFollowsAndTombstones(t *testing.T) {
	env := topicstest.New(t, 1)
	writer := newKafkaStore(t, env)
	reader := newKafkaStore(t, env)
	var mu sync.Mutex
	var changes []Change
	unsub := reader.Subscribe(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, c)
	})
	defer unsub()

	put(t, writer, webhook("ws_1", "wh_a"))
	put(t, writer, Segment{ID: "seg_a", WorkspaceID: "ws_1", Name: "s", Filter: json.RawMessage(`{"all":[]}`)})
	kafkatest.Eventually(t, time.Second, "reader sees the webhook and segment", func() bool {
		_, ok1 := reader.Webhook("ws_1", "wh_a")
		_, ok2 := reader.Segment("ws_1", "seg_a")
		return ok1 && ok2
	})
	v1 := reader.Workspace("ws_1").Version()
	if err := writer.Delete(ctxT(t), Ref{KindWebhook, "ws_1", "wh_a"}); err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, time.Second, "reader drops the deleted webhook", func() bool {
		_, ok := reader.Webhook("ws_1", "wh_a")
		return !ok
	})
	if v2 := reader.Workspace("ws_1").Version(); v2 <= v1 {
		t.Fatalf("workspace version %d did not grow past %d", v2, v1)
	}
	if err := writer.Delete(ctxT(t), Ref{KindSegment, "ws_1", "seg_a"}); err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, time.Second, "an empty workspace disappears", func() bool {
		return reader.Workspace("ws_1") == nil
	})
	mu.Lock()
	defer mu.Unlock()
	want := []Change{{Ref{KindWebhook, "ws_1", "wh_a"}, false, 0}, {Ref{KindSegment, "ws_1", "seg_a"}, false, 1},
		{Ref{KindWebhook, "ws_1", "wh_a"}, true, 2}, {Ref{KindSegment, "ws_1", "seg_a"}, true, 3}}
	if fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Fatalf("changes = %v, want %v", changes, want)
	}
}

func TestTwoStoresConvergeWithinASecond(t *testing.T) {
	env := topicstest.New(t, 1)
	a := newKafkaStore(t, env)
	b := newKafkaStore(t, env)
	for i := range 5 {
		id := fmt.Sprintf("wh_%d", i)
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		start := time.Now()
		put(t, from, webhook("ws_1", id))
		kafkatest.Eventually(t, time.Second, "the other store sees "+id+" within a second", func() bool {
			_, ok := to.Webhook("ws_1", id)
			return ok
		})
		t.Logf("%s: in effect in the other store after %s", id, time.Since(start))
	}
	// Concurrent writers to the same entity: both stores settle on the same last write.
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Go(func() {
			for j := range 10 {
				w := webhook("ws_1", "wh_race")
				w.Name = fmt.Sprintf("writer %d #%d", i, j)
				put(t, s, w)
			}
		})
	}
	wg.Wait()
	kafkatest.Eventually(t, time.Second, "both stores agree", func() bool {
		wa, _ := a.Webhook("ws_1", "wh_race")
		wb, _ := b.Webhook("ws_1", "wh_race")
		return wa.Name == wb.Name && a.Workspace("ws_1").Version() == b.Workspace("ws_1").Version()
	})
}

func TestSecretsAreEncryptedInTheTopic(t *testing.T) {
	env := topicstest.New(t, 1)
	s := newKafkaStore(t, env, WithSecretKey(keyA))
	const secret = "whsec-7f3a9c1e-very-secret-value"
	w := webhook("ws_1", "wh_sec")
	w.Secret = NewSecret(secret)
	put(t, s, w)

	recs := env.Consume(t, env.Topics.Control, 10*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	raw := recs[0].Value
	for _, form := range [][]byte{[]byte(secret), []byte(secret[:12]), []byte(hexOf(secret)), []byte(b64Of(secret))} {
		if bytes.Contains(raw, form) {
			t.Fatalf("the record holds the secret (%q): %s", form, raw)
		}
	}
	var rec struct {
		Secret sealedSecret `json:"secret"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Secret.Alg != "A256GCM" || rec.Secret.KeyID != KeyID(keyA) || rec.Secret.Plaintext != "" {
		t.Fatalf("stored secret = %+v, want sealed with A256GCM and key id %s", rec.Secret, KeyID(keyA))
	}
	// This store and a fresh one with the same key read it back.
	for _, st := range []*Store{s, newKafkaStore(t, env, WithSecretKey(keyA))} {
		got, ok := st.Webhook("ws_1", "wh_sec")
		if !ok || got.Secret.Reveal() != secret {
			t.Fatalf("secret read back = %v (ok %v), want the original", got.Secret.Reveal() == secret, ok)
		}
	}
	// A sealed secret moved to another webhook's key does not open.
	produceRaw(t, env, &kgo.Record{Key: []byte("webhook/ws_1/wh_moved"), Value: bytes.ReplaceAll(raw, []byte("wh_sec"), []byte("wh_moved"))})
	reader := newUnstarted(t, env, WithSecretKey(keyA))
	if err := reader.Start(ctxT(t)); !errors.Is(err, ErrSecretKey) || !strings.Contains(err.Error(), "altered or moved") {
		t.Fatalf("Start with a moved secret = %v, want ErrSecretKey (altered or moved)", err)
	}
}

func TestWrongSecretKey(t *testing.T) {
	env := topicstest.New(t, 1)
	w := webhook("ws_1", "wh_sec")
	w.Secret = NewSecret("s3cret")
	produceRaw(t, env, encoded(t, []Entity{w}, WithSecretKey(keyA))...)

	cases := []struct {
		name string
		opts []Opt
		want string
	}{
		{"no key", nil, "no secret key is configured"},
		{"other key", []Opt{WithSecretKey(keyB)}, "the configured keys are " + KeyID(keyB) + " (primary)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newUnstarted(t, env, c.opts...)
			err := s.Start(ctxT(t))
			if !errors.Is(err, ErrSecretKey) {
				t.Fatalf("Start = %v, want ErrSecretKey", err)
			}
			for _, want := range []string{c.want, "key id " + KeyID(keyA), "webhook/ws_1/wh_sec", "LEADFLOW_SECRET_KEY"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatal("the error holds the secret")
			}
		})
	}
	t.Run("rotated key with the old one as previous", func(t *testing.T) {
		s := newKafkaStore(t, env, WithSecretKey(keyB), WithPreviousSecretKeys(keyA))
		got, _ := s.Webhook("ws_1", "wh_sec")
		if got.Secret.Reveal() != "s3cret" {
			t.Fatal("secret not opened with the previous key")
		}
		n, err := s.Reseal(ctxT(t))
		if err != nil || n != 1 {
			t.Fatalf("Reseal = %d, %v; want 1", n, err)
		}
		// Now only key B is needed.
		only := newKafkaStore(t, env, WithSecretKey(keyB))
		if got, _ := only.Webhook("ws_1", "wh_sec"); got.Secret.Reveal() != "s3cret" {
			t.Fatal("secret not readable with the new key after Reseal")
		}
		if n, _ := only.Reseal(ctxT(t)); n != 0 {
			t.Fatalf("second Reseal rewrote %d webhooks", n)
		}
	})
}

func TestPlaintextSecretsWithoutKeyAndResealing(t *testing.T) {
	env := topicstest.New(t, 1)
	plain := newKafkaStore(t, env)
	w := webhook("ws_1", "wh_p")
	w.Secret = NewSecret("plain-secret-1")
	put(t, plain, w)
	recs := env.Consume(t, env.Topics.Control, 10*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	if !bytes.Contains(recs[0].Value, []byte(`"alg":"none"`)) {
		t.Fatalf("record without a key = %s, want the secret marked alg none", recs[0].Value)
	}
	keyed := newKafkaStore(t, env, WithSecretKey(keyA))
	if got, _ := keyed.Webhook("ws_1", "wh_p"); got.Secret.Reveal() != "plain-secret-1" {
		t.Fatal("a keyed store does not read plain-text secrets")
	}
	if n, err := keyed.Reseal(ctxT(t)); n != 1 || err != nil {
		t.Fatalf("Reseal = %d, %v", n, err)
	}
	recs = env.Consume(t, env.Topics.Control, 10*time.Second, func(r []*kgo.Record) bool { return len(r) >= 2 })
	if bytes.Contains(recs[1].Value, []byte("plain-secret-1")) {
		t.Fatal("resealed record still holds the secret in plain text")
	}
}

func TestFollowKeepsPreviousVersionOnUnreadableSecret(t *testing.T) {
	env := topicstest.New(t, 1)
	s := newKafkaStore(t, env, WithSecretKey(keyA))
	w := webhook("ws_1", "wh_1")
	w.Secret = NewSecret("good")
	put(t, s, w)

	// Another writer with another key changes the webhook.
	w2 := w
	w2.Name, w2.Secret = "changed elsewhere", NewSecret("other")
	produceRaw(t, env, encoded(t, []Entity{w2}, WithSecretKey(keyB))...)
	kafkatest.Eventually(t, 2*time.Second, "Ready reports the unreadable secret", func() bool {
		err := s.Ready()
		return errors.Is(err, ErrSecretKey) && strings.Contains(err.Error(), "webhook/ws_1/wh_1")
	})
	if got, _ := s.Webhook("ws_1", "wh_1"); got.Name != w.Name || got.Secret.Reveal() != "good" {
		t.Fatalf("webhook = %q, want the previous version kept", got.Name)
	}
	// A readable version fixes it.
	w.Name = "fixed"
	put(t, s, w)
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready after the fix = %v", err)
	}
}

func TestBadRecordsAreSkipped(t *testing.T) {
	env := topicstest.New(t, 1)
	good := encoded(t, []Entity{webhook("ws_1", "wh_ok")})
	produceRaw(t, env,
		&kgo.Record{Key: []byte("nonsense"), Value: []byte("{}")},
		&kgo.Record{Key: []byte("webhook/ws_1/wh_bad"), Value: []byte("{not json")},
		&kgo.Record{Key: []byte("webhook/ws_1/wh_other"), Value: good[0].Value}, // key and id disagree
		&kgo.Record{Key: []byte("future_kind/ws_1/x_1"), Value: []byte(`{"id":"x_1"}`)},
		&kgo.Record{Key: []byte("webhook/ws_1/wh_ok"), Value: good[0].Value},
	)
	s := newKafkaStore(t, env)
	if err := s.Ready(); err != nil {
		t.Fatal(err)
	}
	if ws := s.Workspace("ws_1").ListWebhooks(); len(ws) != 1 || ws[0].ID != "wh_ok" {
		t.Fatalf("webhooks = %v, want only wh_ok", ws)
	}
}

func TestRestartRereadsState(t *testing.T) {
	env := topicstest.New(t, 1)
	s := newKafkaStore(t, env, WithSecretKey(keyA))
	base := time.Date(2024, 5, 15, 10, 0, 0, 0, time.UTC)
	w := webhook("ws_1", "wh_1")
	w.Secret = NewSecret("x")
	put(t, s, w)
	put(t, s, Persona{ID: "per_1", WorkspaceID: "ws_1", Name: "VPs", Seniorities: []string{"vp"}})
	put(t, s, automation("ws_1", "aut_2", "wh_1", base.Add(time.Second)))
	put(t, s, automation("ws_1", "aut_1", "wh_1", base))
	put(t, s, webhook("ws_2", "wh_gone"))
	if err := s.Delete(ctxT(t), Ref{KindWebhook, "ws_2", "wh_gone"}); err != nil {
		t.Fatal(err)
	}
	before := s.Workspace("ws_1")
	s.Close()
	if err := s.Put(ctxT(t), webhook("ws_1", "wh_late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}

	r := newKafkaStore(t, env, WithSecretKey(keyA))
	after := r.Workspace("ws_1")
	for _, pair := range [][2]any{
		{before.ListWebhooks(), after.ListWebhooks()},
		{before.ListPersonas(), after.ListPersonas()},
		{before.ListAutomations(), after.ListAutomations()},
	} {
		b, _ := json.Marshal(pair[0])
		a, _ := json.Marshal(pair[1])
		if !bytes.Equal(a, b) {
			t.Fatalf("after restart\n%s\nwant\n%s", a, b)
		}
	}
	if got, _ := r.Webhook("ws_1", "wh_1"); got.Secret.Reveal() != "x" {
		t.Fatal("secret lost on restart")
	}
	if r.Workspace("ws_2") != nil {
		t.Fatal("deleted workspace content came back")
	}
	if got := r.Automations("ws_1"); len(got) != 2 || got[0].ID != "aut_1" {
		t.Fatalf("automations = %v, want aut_1 then aut_2", got)
	}
}

func TestDisableWebhook(t *testing.T) {
	env := topicstest.New(t, 1)
	s := newKafkaStore(t, env, WithSecretKey(keyA))
	w := webhook("ws_1", "wh_1")
	w.Secret = NewSecret("keep-me")
	put(t, s, w)
	if err := s.DisableWebhook(ctxT(t), "ws_1", "wh_1", "endpoint answered 410 Gone"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Webhook("ws_1", "wh_1")
	if got.Enabled || got.DisabledReason != "endpoint answered 410 Gone" || got.Secret.Reveal() != "keep-me" {
		t.Fatalf("after DisableWebhook: enabled %v reason %q secret kept %v", got.Enabled, got.DisabledReason, got.Secret.Reveal() == "keep-me")
	}
	v := s.Workspace("ws_1").Version()
	if err := s.DisableWebhook(ctxT(t), "ws_1", "wh_1", "endpoint answered 410 Gone"); err != nil {
		t.Fatal(err)
	}
	if s.Workspace("ws_1").Version() != v {
		t.Fatal("disabling again wrote a record")
	}
	if err := s.DisableWebhook(ctxT(t), "ws_1", "wh_none", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DisableWebhook of a missing webhook = %v, want ErrNotFound", err)
	}
}

func TestWritesBeforeStart(t *testing.T) {
	env := topicstest.New(t, 1)
	s := newUnstarted(t, env)
	if err := s.Put(ctxT(t), webhook("ws_1", "wh_1")); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Put before Start = %v", err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	env := topicstest.New(t, 1)
	for _, c := range []struct {
		opt  Opt
		want string
	}{
		{WithFetchMaxWait(5 * time.Second), "control.fetch_max_wait"},
		{WithSecretKey([]byte("short")), "secret_key"},
		{WithPreviousSecretKeys(keyA, []byte("x")), "secret_key_previous[1]"},
	} {
		_, err := New(env.Kafka, env.Topics.Control, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New = %v, want an error naming %s", err, c.want)
		}
	}
}

// TestPutGivesUpWithItsContext: when the brokers do not take a write, Put
// returns when its context ends instead of waiting for them (regression:
// ProduceSync blocked an admin request for as long as Kafka was down).
func TestPutGivesUpWithItsContext(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "control"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kafka := pipeline.DefaultKafkaConfig()
	kafka.Brokers = c.ListenAddrs()
	s, err := New(kafka, "control", WithLogger(zaptest.NewLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	put(t, s, webhook("ws_1", "wh_1"))
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, errors.New("broker unavailable"), true
	})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	err = s.Put(ctx, webhook("ws_1", "wh_2"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "may or may not be written") {
		t.Fatalf("Put = %v, want a deadline error saying the write is unconfirmed", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("Put took %s with a 200ms context", took)
	}
}
