package system_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
	"github.com/leadflow/leadflow/stages/system"
	"github.com/leadflow/leadflow/stages/system/systemtest"
)

const (
	e2eWorkspace = "ws_123" // the guide event's workspace
	e2eToken     = "e2e-token"
	e2eSecret    = "whsec-e2e-secret"
)

// received is one webhook request as it arrived.
type received struct {
	body    []byte
	headers http.Header
	payload struct {
		Event    string            `json:"event"`
		Subjects []json.RawMessage `json:"subjects"`
	}
}

// receiver is a real HTTP endpoint that records every request.
type receiver struct {
	mu   sync.Mutex
	reqs []received
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{body: body, headers: r.Header.Clone()}
	if err := json.Unmarshal(body, &rec.payload); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, rec)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// subjects returns every subject received, by event.
func (rc *receiver) subjects() map[string][]json.RawMessage {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string][]json.RawMessage{}
	for _, r := range rc.reqs {
		out[r.payload.Event] = append(out[r.payload.Event], r.payload.Subjects...)
	}
	return out
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// startSystem runs every stage in this process, as `leadflow dev` does.
func startSystem(t *testing.T) (*system.System, configs.Config) {
	t.Helper()
	// Recycled input buffers come back overwritten: a stage that reads a
	// record after its batch finished shows in the webhooks.
	t.Setenv(pipeline.PoisonRecycledEnv, "1")
	return systemtest.Start(t, "e2e", func(cfg *configs.Config) {
		cfg.Admin.Token = e2eToken
		cfg.Stages.Deliver.Linger = 200 * time.Millisecond
		// The guide's visits are replayed with the guide's 2024 times, so
		// that the webhooks match its samples: no lower bound on event age.
		cfg.Stages.Enrich.MaxEventAge = 0
	})
}

// admin calls the admin API and returns the created entity's id.
func admin(t *testing.T, sys *system.System, path string, body any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+sys.HTTPAddr().String()+"/v1/workspaces/"+e2eWorkspace+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.ID == "" {
		t.Fatalf("POST %s: no id in %s", path, out)
	}
	return created.ID
}

func rawEvent(id, ip, ua, url, ts string) []byte {
	return []byte(fmt.Sprintf(`{"event_id":%q,"workspace_id":%q,"session_id":"s_%s","visitor_id":"v_%s","type":"pageview","ip":%q,"user_agent":%q,"url":%q,"time_spent":5,"timestamp":%q}`,
		id, e2eWorkspace, id, id, ip, ua, url, ts))
}

// fixtureSubject is the first subject of a golden fixture made from the guide.
func fixtureSubject(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "schemas", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Subjects []map[string]any }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p.Subjects[0]
}

func decode(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func companyDomain(t *testing.T, raw json.RawMessage) string {
	m := decode(t, raw)
	if c, ok := m["company"].(map[string]any); ok {
		s, _ := c["domain"].(string)
		return s
	}
	return ""
}

// TestGuideVisitsEndToEnd sends the guide's Netcontrol visit and an MDX
// Technology visit, plus a bot, an ISP visitor and a malformed event, through
// every stage, and checks the webhooks a real HTTP receiver gets against
// the guide's samples field by field, and their signatures.
func TestGuideVisitsEndToEnd(t *testing.T) {
	sys, cfg := startSystem(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	// Integrations -> Webhooks, then Automations (the guide's steps).
	wh := admin(t, sys, "/webhooks", map[string]any{"url": srv.URL + "/hook", "name": "e2e", "secret": e2eSecret})
	seg := admin(t, sys, "/segments", map[string]any{"name": "machinery or finance",
		"filter": map[string]any{"field": "company.industry", "op": "in", "value": []string{"Machinery", "Financial Services"}}})
	fin := admin(t, sys, "/segments", map[string]any{"name": "finance",
		"filter": map[string]any{"all": []any{map[string]any{"field": "company.industry", "op": "eq", "value": "financial services"}}}})
	per := admin(t, sys, "/personas", map[string]any{"name": "sales VPs", "seniorities": []string{"vp"}, "departments": []string{"sales"}})
	admin(t, sys, "/automations", map[string]any{"name": "new leads", "trigger": "new_lead", "segment_id": seg,
		"action": map[string]any{"type": "webhook", "webhook_id": wh}})
	admin(t, sys, "/automations", map[string]any{"name": "new sessions", "trigger": "new_session", "segment_id": seg,
		"action": map[string]any{"type": "webhook", "webhook_id": wh}})
	admin(t, sys, "/automations", map[string]any{"name": "reveal", "trigger": "new_lead", "segment_id": fin,
		"action": map[string]any{"type": "reveal_contacts", "persona_id": per, "reveal_limit": 1, "webhook_ids": []string{wh}}})

	// A business network of another company, for the bot.
	dataDir, err := sampledata.EnsureDefault(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	nets, err := dataset.LoadNetworks(filepath.Join(dataDir, dataset.NetworksFile))
	if err != nil {
		t.Fatal(err)
	}
	var botNet dataset.NetworkRecord
	for _, n := range nets {
		if n.NetworkType == schemas.NetworkBusiness && n.CompanyDomain != "netcontrol.com" && n.CompanyDomain != "mdxtechnology.com" && n.Network.Addr().Is4() {
			botNet = n
			break
		}
	}

	guide := schemas.GuideNetcontrolEvent()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	chrome := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	raw := []*kgo.Record{
		{Key: []byte(guide.SessionID), Value: guide.AppendJSON(nil)},
		{Key: []byte("s_mdx"), Value: rawEvent("mdx", "203.0.113.10", chrome, "https://www.example.com/pricing?utm_source=linkedin", now)},
		{Key: []byte("s_bot"), Value: rawEvent("bot", botNet.HostAddr(5).String(), "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "https://www.example.com/", now)},
		{Key: []byte("s_isp"), Value: rawEvent("isp", "192.0.2.5", chrome, "https://www.example.com/", now)},
		{Key: []byte("s_bad"), Value: []byte(`{"event_id": 7, "workspace_id": "ws_123"}`)},
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, r := range raw {
		r.Topic = sys.Topics().Raw
	}
	if err := cl.ProduceSync(context.Background(), raw...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Two leads, two sessions and John Doe, then nothing else.
	kafkatest.Eventually(t, 90*time.Second, "new_lead x2, new_session x2, contact_revealed x1", func() bool {
		s := rc.subjects()
		return len(s[schemas.EventNewLead]) >= 2 && len(s[schemas.EventNewSession]) >= 2 && len(s[schemas.EventContactRevealed]) >= 1
	})
	time.Sleep(2 * time.Second) // anything else (the bot's company, ISP) would arrive by now
	got := rc.subjects()
	for event, want := range map[string]int{schemas.EventNewLead: 2, schemas.EventNewSession: 2, schemas.EventContactRevealed: 1} {
		if len(got[event]) != want {
			t.Errorf("%s: %d subjects, want %d", event, len(got[event]), want)
		}
	}
	for event, subs := range got {
		for _, s := range subs {
			if d := companyDomain(t, s); d != "netcontrol.com" && d != "mdxtechnology.com" {
				t.Errorf("%s for %q: only the guide's two companies may make leads (bot/ISP traffic must not)", event, d)
			}
		}
	}

	// Field by field against the guide's samples.
	checkLead := func(event, fixture string) {
		for _, s := range got[event] {
			if companyDomain(t, s) != "netcontrol.com" {
				continue
			}
			m := decode(t, s)
			if id, ok := m["id"].(float64); !ok || id <= 0 {
				t.Errorf("%s: id = %v, want a positive number", event, m["id"])
			}
			want := fixtureSubject(t, fixture)
			delete(m, "id")
			delete(want, "id")
			if !reflect.DeepEqual(m, want) {
				gb, _ := json.MarshalIndent(m, "", " ")
				wb, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("%s subject differs from the guide's sample:\ngot  %s\nwant %s", event, gb, wb)
			}
			return
		}
		t.Errorf("%s: no Netcontrol subject", event)
	}
	checkLead(schemas.EventNewLead, "new_lead.json")
	checkLead(schemas.EventNewSession, "new_session.json")
	if c := got[schemas.EventContactRevealed]; len(c) == 1 {
		if m, want := decode(t, c[0]), fixtureSubject(t, "contact_revealed_default.json"); !reflect.DeepEqual(m, want) {
			t.Errorf("contact_revealed subject differs from the guide's sample:\ngot  %v\nwant %v", m, want)
		}
	}

	// Every request signed exactly as DESIGN 1.3 says, checked independently.
	for _, r := range rc.requests() {
		mac := hmac.New(sha256.New, []byte(e2eSecret))
		mac.Write(r.body)
		if got, want := r.headers.Get("Signature"), hex.EncodeToString(mac.Sum(nil)); got != want {
			t.Errorf("Signature = %q, want %q", got, want)
		}
		id, ts := r.headers.Get("webhook-id"), r.headers.Get("webhook-timestamp")
		mac = hmac.New(sha256.New, []byte(e2eSecret))
		mac.Write([]byte(id + "." + ts + "." + string(r.body)))
		if got, want := r.headers.Get("webhook-signature"), "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want || id == "" {
			t.Errorf("webhook-signature = %q (id %q), want %q", got, id, want)
		}
		if ct, ua := r.headers.Get("Content-Type"), r.headers.Get("User-Agent"); ct != "application/json" || ua != "leadflow/e2e" {
			t.Errorf("Content-Type %q, User-Agent %q", ct, ua)
		}
	}

	// The malformed event is dead-lettered; the bot and ISP are only counted.
	dl := consumeN(t, cfg.Kafka.Brokers, sys.Topics().DLQ, 1)
	if string(dl[0].Value) != string(raw[4].Value) {
		t.Errorf("dead letter = %s, want the malformed event", dl[0].Value)
	}

	// A second visit from Netcontrol, an hour later: its new_session
	// subject shows the new session first and then the guide's visit,
	// which the lead change carried by reference and evaluate read back
	// from Redis, exactly as the guide's sample shows it.
	second := guide
	second.EventID, second.SessionID, second.Timestamp = "second-visit", "s_second", "2024-05-15T11:55:50Z"
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: sys.Topics().Raw, Key: []byte(second.SessionID), Value: second.AppendJSON(nil)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, 90*time.Second, "a third new_session", func() bool {
		return len(rc.subjects()[schemas.EventNewSession]) >= 3
	})
	wantOld := fixtureSubject(t, "new_session.json")["recent_sessions"].([]any)[0]
	found := false
	for _, s := range rc.subjects()[schemas.EventNewSession] {
		sessions, _ := decode(t, s)["recent_sessions"].([]any)
		if companyDomain(t, s) != "netcontrol.com" || len(sessions) != 2 {
			continue
		}
		found = true
		if started := sessions[0].(map[string]any)["started_at"]; started != "2024-05-15 11:55:50" {
			t.Errorf("second visit: recent_sessions[0].started_at = %v, want the new session first", started)
		}
		if !reflect.DeepEqual(sessions[1], wantOld) {
			gb, _ := json.MarshalIndent(sessions[1], "", " ")
			wb, _ := json.MarshalIndent(wantOld, "", " ")
			t.Errorf("second visit: recent_sessions[1] differs from the guide's session:\ngot  %s\nwant %s", gb, wb)
		}
	}
	if !found {
		t.Errorf("no new_session subject of Netcontrol with two recent sessions")
	}
}

func consumeN(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %d of %d records", topic, len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}
