package evaluate_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/evaluate"
	"github.com/leadflow/leadflow/stages/leadstore"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// fakeControl is an in-memory control plane.
type fakeControl struct {
	mu       sync.Mutex
	version  atomic.Uint64
	autos    []control.Automation
	segments map[string]control.Segment
	personas map[string]control.Persona
	webhooks map[string]control.Webhook
}

func newFakeControl() *fakeControl {
	return &fakeControl{segments: map[string]control.Segment{}, personas: map[string]control.Persona{}, webhooks: map[string]control.Webhook{}}
}

func (f *fakeControl) Automations(ws string) []control.Automation {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []control.Automation
	for _, a := range f.autos {
		if a.WorkspaceID == ws {
			out = append(out, a)
		}
	}
	return out
}
func (f *fakeControl) Segment(ws, id string) (control.Segment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.segments[id]
	return s, ok && s.WorkspaceID == ws
}
func (f *fakeControl) Persona(ws, id string) (control.Persona, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.personas[id]
	return p, ok && p.WorkspaceID == ws
}
func (f *fakeControl) Webhook(ws, id string) (control.Webhook, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.webhooks[id]
	return w, ok && w.WorkspaceID == ws
}
func (f *fakeControl) Version() uint64 { return f.version.Load() }

func (f *fakeControl) add(fn func()) {
	f.mu.Lock()
	fn()
	f.mu.Unlock()
	f.version.Add(1)
}

const ws = "ws_1"

func webhookAuto(id string, trigger control.Trigger, segment, webhook string) control.Automation {
	return control.Automation{ID: id, WorkspaceID: ws, Trigger: trigger, SegmentID: segment, Enabled: true,
		Action: control.Action{Type: control.ActionWebhook, WebhookID: webhook}}
}

// change builds a lead change of the guide's Netcontrol lead.
func change(kind, eventID, session string, pageviews int64) schemas.LeadChange {
	lead := schemas.GuideNetcontrolLead()
	lead.ID = 42
	return schemas.LeadChange{
		Kind: kind, WorkspaceID: ws, LeadKey: schemas.LeadKey(ws, "netcontrol.com"), SessionKey: session,
		EventID: eventID, EventTime: schemas.GuideHitTime(), Lead: lead,
		Stats: schemas.LeadStats{Sessions: 1, Pageviews: pageviews, TotalDuration: 14},
	}
}

func mdxChange(eventID string) schemas.LeadChange {
	ch := change(schemas.ChangeNewLead, eventID, "s_mdx", 1)
	ch.LeadKey = schemas.LeadKey(ws, "mdxtechnology.com")
	ch.Lead.Company = schemas.GuideMDX()
	ch.Lead.Company.Phone = nil // lead subjects carry no phone
	return ch
}

type harness struct {
	env  *topicstest.Env
	ctl  *fakeControl
	deps evaluate.Deps
}

func newHarness(t *testing.T, contacts evaluate.LocalContacts) *harness {
	env := topicstest.New(t, 2)
	rdb, _ := kafkatest.Redis(t)
	ctl := newFakeControl()
	ctl.add(func() {
		ctl.webhooks["wh_a"] = control.Webhook{ID: "wh_a", WorkspaceID: ws, URL: "http://x", Enabled: true}
		ctl.webhooks["wh_b"] = control.Webhook{ID: "wh_b", WorkspaceID: ws, URL: "http://y", Enabled: true}
		ctl.webhooks["wh_off"] = control.Webhook{ID: "wh_off", WorkspaceID: ws, URL: "http://z", Enabled: false}
	})
	return &harness{env: env, ctl: ctl, deps: evaluate.Deps{
		Topics: env.Topics, Redis: rdb, KeyPrefix: env.Topics.Prefix, Control: ctl, Contacts: contacts,
		Companies: companies{}, Sessions: &fakeSessions{}, Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	}}
}

// fakeSessions completes a subject with one session per reference, started
// at the reference's time, and fails its first fail calls.
type fakeSessions struct {
	mu    sync.Mutex
	fail  int
	calls int
}

func (f *fakeSessions) Complete(_ context.Context, chs []*schemas.LeadChange) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.fail {
		return 0, errors.New("redis is down")
	}
	for _, ch := range chs {
		for _, ref := range ch.OlderSessions {
			ch.Lead.RecentSessions = append(ch.Lead.RecentSessions,
				schemas.Session{StartedAt: schemas.SessionTime{Time: time.UnixMicro(ref.StartedAt).UTC()}, Pageviews: []schemas.Pageview{}})
		}
		ch.OlderSessions = nil
	}
	return 0, nil
}

type companies struct{}

func (companies) Company(domain string) (schemas.Company, bool) {
	if domain == "mdxtechnology.com" {
		return schemas.GuideMDX(), true
	}
	return schemas.Company{}, false
}

// run runs an evaluate stage (its own consumer group) over everything
// produced so far, until the test ends or stop is called.
func (h *harness) run(t *testing.T, group string) (stop func()) {
	t.Helper()
	d := h.deps
	d.Registerer = prometheus.NewRegistry()
	st, err := evaluate.New(evaluate.DefaultConfig(), d)
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.DefaultRuntimeConfig()
	cfg.CommitInterval = 50 * time.Millisecond
	_, stop = h.env.Start(t, &renamed{Stage: st, name: group}, cfg, d.Logger)
	return stop
}

// renamed gives a stage another consumer group, to run two instances that
// each see every record (as after a replay by another owner).
type renamed struct {
	*evaluate.Stage
	name string
}

func (r *renamed) Name() string { return r.name }

func (h *harness) send(t *testing.T, chs ...schemas.LeadChange) {
	t.Helper()
	for _, ch := range chs {
		v, err := json.Marshal(&ch)
		if err != nil {
			t.Fatal(err)
		}
		h.env.Produce(t, &kgo.Record{Topic: h.env.Topics.LeadChanges, Key: []byte(ch.LeadKey), Value: v})
	}
}

// deliveries waits for n delivery requests, then a little more to see
// that no more arrive, and returns them decoded.
func (h *harness) deliveries(t *testing.T, n int) []schemas.DeliveryRequest {
	t.Helper()
	recs := h.env.Consume(t, h.env.Topics.Deliveries, 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= n })
	if n > 0 {
		time.Sleep(300 * time.Millisecond)
	}
	recs = h.env.Consume(t, h.env.Topics.Deliveries, 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= n })
	out := make([]schemas.DeliveryRequest, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Value, &out[i]); err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != out[i].WebhookID {
			t.Fatalf("delivery keyed %q, want its webhook %q", r.Key, out[i].WebhookID)
		}
	}
	return out
}

// sentinel produces a change that fires the "done" automation, so a test
// knows every earlier change was evaluated.
func (h *harness) withSentinel(t *testing.T) {
	h.ctl.add(func() {
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_done", control.TriggerNewLead, "seg_done", "wh_b"))
		h.ctl.segments["seg_done"] = control.Segment{ID: "seg_done", WorkspaceID: ws, Filter: json.RawMessage(`{"field":"company.domain","op":"eq","value":"sentinel.example"}`)}
	})
}

var netcontrolSegment = control.Segment{ID: "seg_nc", WorkspaceID: ws, Filter: json.RawMessage(`{"field":"company.domain","op":"eq","value":"netcontrol.com"}`)}

func sentinel(eventID string) schemas.LeadChange {
	ch := change(schemas.ChangeNewLead, eventID, "s_sent_"+eventID, 1)
	ch.LeadKey = schemas.LeadKey(ws, "sentinel.example|"+eventID)
	ch.Lead.Company.Domain = "sentinel.example"
	return ch
}

func count(reqs []schemas.DeliveryRequest, automation string) int {
	n := 0
	for _, r := range reqs {
		if r.AutomationID == automation {
			n++
		}
	}
	return n
}

func TestNewLeadFiresOnceTheFirstTimeTheLeadMatches(t *testing.T) {
	h := newHarness(t, nil)
	h.withSentinel(t)
	h.ctl.add(func() {
		h.ctl.segments["seg_3pv"] = control.Segment{ID: "seg_3pv", WorkspaceID: ws, Filter: json.RawMessage(`{"all":[{"field":"company.industry","op":"in","value":["Machinery"]},{"field":"lead.pageviews_count","op":"gte","value":3}]}`)}
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_lead", control.TriggerNewLead, "seg_3pv", "wh_a"))
	})
	h.run(t, "evaluate")
	h.send(t,
		change(schemas.ChangeNewLead, "e1", "s1", 1),        // no match yet
		change(schemas.ChangeSessionUpdated, "e2", "s1", 3), // first match: fires
		change(schemas.ChangeSessionUpdated, "e3", "s1", 4), // matches again: not again
		change(schemas.ChangeNewSession, "e4", "s2", 5),     // new session: not again
		sentinel("end"),
	)
	got := h.deliveries(t, 2)
	if n := count(got, "aut_lead"); n != 1 {
		t.Fatalf("new_lead fired %d times, want once", n)
	}
	for _, r := range got {
		if r.AutomationID != "aut_lead" {
			continue
		}
		var lead schemas.Lead
		if err := json.Unmarshal(r.Subject, &lead); err != nil {
			t.Fatal(err)
		}
		if r.Event != schemas.EventNewLead || r.WebhookID != "wh_a" || lead.ID != 42 || lead.Company.Domain != "netcontrol.com" {
			t.Fatalf("delivery = %+v (lead %d %s)", r, lead.ID, lead.Company.Domain)
		}
		if !r.EventTime.Equal(schemas.GuideHitTime()) || r.TriggeredAt.IsZero() || r.ID == "" {
			t.Fatalf("times/id not set: %+v", r)
		}
		// The subject is the lead's own encoding, byte for byte (the
		// guide's URL has '&', which must not become \u0026).
		want := change(schemas.ChangeNewLead, "", "", 0).Lead
		if got := string(r.Subject); got != string(want.AppendJSON(nil)) {
			t.Fatalf("subject bytes differ from the lead's encoding:\n got %s\nwant %s", got, want.AppendJSON(nil))
		}
	}
}

// A segment that tests only company fields remembers the leads whose
// company did not match; that memory must not hide a match once the
// lead's company changes, or once the segment does.
func TestCompanySegmentMissesAreForgottenOnChange(t *testing.T) {
	h := newHarness(t, nil)
	h.withSentinel(t)
	h.ctl.add(func() {
		h.ctl.segments["seg_ind"] = control.Segment{ID: "seg_ind", WorkspaceID: ws, Filter: json.RawMessage(`{"field":"company.industry","op":"eq","value":"Financial Services"}`)}
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_ind", control.TriggerNewLead, "seg_ind", "wh_a"))
	})
	h.run(t, "evaluate")
	other := func(eventID, industry string) schemas.LeadChange {
		ch := change(schemas.ChangeSessionUpdated, eventID, "s1", 2)
		ch.LeadKey = schemas.LeadKey(ws, "other.example")
		ch.Lead.Company.Domain, ch.Lead.Company.Industry = "other.example", &industry
		return ch
	}
	h.send(t,
		change(schemas.ChangeNewLead, "e1", "s1", 1),        // Machinery: no match, remembered
		change(schemas.ChangeSessionUpdated, "e2", "s1", 2), // the same company: skipped
		other("o1", "Software"),                             // another lead, no match
		sentinel("first"),
	)
	if got := h.deliveries(t, 1); count(got, "aut_ind") != 0 {
		t.Fatalf("fired for a lead outside the segment: %+v", got)
	}
	// Netcontrol's company data changes to the segment's industry.
	moved := change(schemas.ChangeSessionUpdated, "e3", "s1", 3)
	fin := "Financial Services"
	moved.Lead.Company.Industry = &fin
	h.send(t, moved, sentinel("mid"))
	if fired := firedFor(t, h.deliveries(t, 3), "aut_ind"); len(fired) != 1 || fired[0] != "netcontrol.com" {
		t.Fatalf("fired for %v, want netcontrol.com (its company changed)", fired)
	}
	// The segment changes to match the other lead's industry.
	h.ctl.add(func() {
		h.ctl.segments["seg_ind"] = control.Segment{ID: "seg_ind", WorkspaceID: ws, Filter: json.RawMessage(`{"field":"company.industry","op":"in","value":["Financial Services","Software"]}`)}
	})
	h.send(t, other("o2", "Software"), sentinel("second"))
	if fired := firedFor(t, h.deliveries(t, 5), "aut_ind"); len(fired) != 2 || fired[1] != "other.example" {
		t.Fatalf("fired for %v, want netcontrol.com, then other.example (the segment changed)", fired)
	}
}

// firedFor returns the company domains of the subjects automation sent, in
// order.
func firedFor(t *testing.T, reqs []schemas.DeliveryRequest, automation string) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		if r.AutomationID != automation {
			continue
		}
		var lead schemas.Lead
		if err := json.Unmarshal(r.Subject, &lead); err != nil {
			t.Fatal(err)
		}
		out = append(out, lead.Company.Domain)
	}
	return out
}

func TestNewSessionFiresOncePerSession(t *testing.T) {
	h := newHarness(t, nil)
	h.withSentinel(t)
	h.ctl.add(func() {
		h.ctl.segments["seg_nc"] = netcontrolSegment
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_sess", control.TriggerNewSession, "seg_nc", "wh_a"))
	})
	h.run(t, "evaluate")
	h.send(t,
		change(schemas.ChangeNewLead, "e1", "s1", 1),
		change(schemas.ChangeSessionUpdated, "e2", "s1", 2),
		change(schemas.ChangeNewSession, "e3", "s2", 3),
		change(schemas.ChangeSessionUpdated, "e4", "s2", 4),
		sentinel("end"),
	)
	got := h.deliveries(t, 3)
	if n := count(got, "aut_sess"); n != 2 {
		t.Fatalf("new_session fired %d times for 2 sessions", n)
	}
	for _, r := range got {
		if r.AutomationID == "aut_sess" && r.Event != schemas.EventNewSession {
			t.Fatalf("event %q, want new_session", r.Event)
		}
	}
}

// A change carries the subject's older sessions by reference: the
// webhook's subject is completed (Deps.Sessions) before it is sent, and a
// failure to complete it retries the batch, losing nothing.
func TestFiringSubjectIsCompleted(t *testing.T) {
	h := newHarness(t, nil)
	fs := &fakeSessions{fail: 2}
	h.deps.Sessions = fs
	h.ctl.add(func() {
		h.ctl.segments["seg_nc"] = netcontrolSegment
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_sess", control.TriggerNewSession, "seg_nc", "wh_a"))
	})
	h.run(t, "evaluate")
	older := time.Date(2024, 5, 14, 9, 0, 0, 0, time.UTC)
	ch := change(schemas.ChangeNewSession, "e1", "s2", 2)
	ch.OlderSessions = []schemas.SessionRef{{Seq: 1, StartedAt: older.UnixMicro(), Pageviews: 0, TimeSpent: []int64{}}}
	h.send(t, ch)
	got := h.deliveries(t, 1)
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	var lead schemas.Lead
	if err := json.Unmarshal(got[0].Subject, &lead); err != nil {
		t.Fatal(err)
	}
	if len(lead.RecentSessions) != 2 || !lead.RecentSessions[1].StartedAt.Equal(older) {
		t.Fatalf("subject sessions = %+v, want the changed one and the referenced one", lead.RecentSessions)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.calls != 3 {
		t.Fatalf("Complete called %d times, want 3 (two failures, then the retry that succeeds)", fs.calls)
	}
}

// A second instance (another owner after a rebalance, with its own
// memory) sees a later change of a lead that already fired: no second
// delivery. A replay of the very change that fired fires again with the
// same request id (the claim is recognised as its own).
func TestDedupAcrossInstancesAndReplays(t *testing.T) {
	h := newHarness(t, nil)
	h.withSentinel(t)
	h.ctl.add(func() {
		h.ctl.segments["seg_nc"] = netcontrolSegment
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_lead", control.TriggerNewLead, "seg_nc", "wh_a"))
	})
	h.send(t, change(schemas.ChangeNewLead, "e1", "s1", 1), sentinel("one"))
	stop := h.run(t, "evaluate-a")
	first := h.deliveries(t, 2)
	stop()
	// Instance b reads the same log from the start: e1 is a replay of the
	// claiming input; e2 is a later change of the same lead.
	h.send(t, change(schemas.ChangeSessionUpdated, "e2", "s1", 2), sentinel("two"))
	h.run(t, "evaluate-b")
	all := h.deliveries(t, 2+3) // +1 replay of e1, +2 sentinels (one replayed)
	if n := count(all, "aut_lead"); n != 2 {
		t.Fatalf("aut_lead delivered %d times; want 2 (the original and the replay of e1, none for e2)", n)
	}
	var ids []string
	for _, r := range all {
		if r.AutomationID == "aut_lead" {
			ids = append(ids, r.ID)
		}
	}
	if ids[0] != ids[1] || count(first, "aut_lead") != 1 {
		t.Fatalf("replayed request ids differ: %v", ids)
	}
}

func TestRevealContactsRespectsPersonaAndLimit(t *testing.T) {
	title := func(s string) *string { return &s }
	contacts := evaluate.LocalContacts{"mdxtechnology.com": {
		{FirstName: "John", LastName: "Doe", Email: "john.doe@mdxtechnology.com", Title: title("VP, Sales"), Seniority: "vp", Department: "sales", CountryCode: "GB", CompanyDomain: "mdxtechnology.com"},
		{FirstName: "Ann", LastName: "Lee", Email: "ann@mdxtechnology.com", Title: title("VP, Sales EMEA"), Seniority: "vp", Department: "sales", CountryCode: "GB", CompanyDomain: "mdxtechnology.com"},
		{FirstName: "Bob", LastName: "Ray", Email: "bob@mdxtechnology.com", Title: title("VP, Sales US"), Seniority: "vp", Department: "sales", CountryCode: "US", CompanyDomain: "mdxtechnology.com"},
		{FirstName: "Eve", LastName: "Ng", Email: "eve@mdxtechnology.com", Title: title("Engineer"), Seniority: "senior", Department: "engineering", CountryCode: "GB", CompanyDomain: "mdxtechnology.com"},
	}}
	h := newHarness(t, contacts)
	h.withSentinel(t)
	h.ctl.add(func() {
		h.ctl.segments["seg_mdx"] = control.Segment{ID: "seg_mdx", WorkspaceID: ws, Filter: json.RawMessage(`{"field":"company.domain","op":"eq","value":"mdxtechnology.com"}`)}
		h.ctl.personas["per_sales"] = control.Persona{ID: "per_sales", WorkspaceID: ws, JobTitles: []string{"vp"}, Departments: []string{"sales"}, Countries: []string{"GB"}}
		h.ctl.autos = append(h.ctl.autos,
			control.Automation{ID: "aut_rev", WorkspaceID: ws, Trigger: control.TriggerNewLead, SegmentID: "seg_mdx", Enabled: true,
				Action: control.Action{Type: control.ActionRevealContacts, PersonaID: "per_sales", RevealLimit: 1, WebhookIDs: []string{"wh_a", "wh_b", "wh_off"}}},
			control.Automation{ID: "aut_rev2", WorkspaceID: ws, Trigger: control.TriggerNewSession, SegmentID: "seg_mdx", Enabled: true,
				Action: control.Action{Type: control.ActionRevealContacts, PersonaID: "per_sales", WebhookIDs: []string{"wh_a"}}},
		)
	})
	h.run(t, "evaluate")
	h.send(t, mdxChange("m1"), sentinel("end"))
	// aut_rev reveals 1 (limit) to wh_a and wh_b (wh_off is disabled);
	// aut_rev2 reveals the one other fitting GB VP of sales (never John twice).
	got := h.deliveries(t, 4)
	var emails []string
	for _, r := range got {
		if r.AutomationID == "aut_done" {
			continue
		}
		if r.Event != schemas.EventContactRevealed {
			t.Fatalf("event %q", r.Event)
		}
		var c schemas.Contact
		if err := json.Unmarshal(r.Subject, &c); err != nil {
			t.Fatal(err)
		}
		if c.Company.Phone == nil || *c.Company.Phone != "+44 20 7469 2610" {
			t.Fatalf("contact company without the directory's phone: %+v", c.Company.Phone)
		}
		emails = append(emails, fmt.Sprintf("%s:%s:%s", r.AutomationID, r.WebhookID, c.Email))
	}
	sort.Strings(emails)
	want := []string{"aut_rev2:wh_a:ann@mdxtechnology.com", "aut_rev:wh_a:john.doe@mdxtechnology.com", "aut_rev:wh_b:john.doe@mdxtechnology.com"}
	if fmt.Sprint(emails) != fmt.Sprint(want) {
		t.Fatalf("revealed %v, want %v", emails, want)
	}
}

func TestUndecodableChangeIsDeadLettered(t *testing.T) {
	h := newHarness(t, nil)
	h.run(t, "evaluate")
	h.env.Produce(t, &kgo.Record{Topic: h.env.Topics.LeadChanges, Key: []byte("k"), Value: []byte("{not json")})
	dl := h.env.Consume(t, h.env.Topics.DLQ, 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	var reason string
	for _, hd := range dl[0].Headers {
		if hd.Key == pipeline.HeaderReason {
			reason = string(hd.Value)
		}
	}
	if reason != "bad_change" {
		t.Fatalf("dead letter reason %q, want bad_change", reason)
	}
}

// Regression (issue 12): new_lead claims had no TTL and outlived the lead,
// and the in-process memory of claims never aged, so a lead that expired
// (stages.leads.lead_ttl) and came back never fired new_lead again. The
// claim now lives in the lead's hash and goes with it, and the memory of
// claims starts over every LeadTTL/2: the same instance fires again.
func TestExpiredLeadThatComesBackFiresNewLeadAgain(t *testing.T) {
	h := newHarness(t, nil)
	h.withSentinel(t)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	h.deps.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	h.deps.LeadTTL = 2 * time.Hour
	h.ctl.add(func() {
		h.ctl.segments["seg_nc"] = netcontrolSegment
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_lead", control.TriggerNewLead, "seg_nc", "wh_a"))
	})
	h.run(t, "evaluate")
	first := change(schemas.ChangeNewLead, "e1", "s1", 1)
	h.send(t, first, sentinel("one"))
	h.deliveries(t, 2)
	rkey := leadstore.LeadRedisKey(h.deps.KeyPrefix, first.LeadKey)
	if ttl := h.deps.Redis.PTTL(context.Background(), rkey).Val(); ttl <= 0 || ttl > 2*time.Hour {
		t.Fatalf("lead hash holding the claim: ttl %s, want the lead TTL (0, 2h]", ttl)
	}
	// The lead expires in Redis, and comes back a lead TTL later.
	if err := h.deps.Redis.Del(context.Background(), rkey).Err(); err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(2 * time.Hour))
	back := change(schemas.ChangeNewLead, "e2", "s2", 1)
	back.Lead.ID = 43
	h.send(t, back, sentinel("two"))
	all := h.deliveries(t, 4)
	if n := count(all, "aut_lead"); n != 2 {
		t.Fatalf("aut_lead delivered %d times; want 2 (the lead, and the lead again after it expired)", n)
	}
}

// A change that carries its company by reference (as the leads stage
// writes them) is matched and sent with the directory's company, without
// its phone; a domain the directory lacks keeps the name and domain the
// change carries.
func TestCompanyByReferenceComesFromTheDirectory(t *testing.T) {
	h := newHarness(t, nil)
	h.withSentinel(t)
	h.ctl.add(func() {
		// Only the directory knows MDX's industry: the change does not carry it.
		h.ctl.segments["seg_fin"] = control.Segment{ID: "seg_fin", WorkspaceID: ws, Filter: json.RawMessage(`{"any":[{"field":"company.industry","op":"eq","value":"Financial Services"},{"field":"company.domain","op":"eq","value":"unknown.example"}]}`)}
		h.ctl.autos = append(h.ctl.autos, webhookAuto("aut_fin", control.TriggerNewLead, "seg_fin", "wh_a"))
	})
	h.run(t, "evaluate")
	byRef := func(ch schemas.LeadChange) schemas.LeadChange {
		ch.Lead.Company = schemas.Company{Name: ch.Lead.Company.Name, Domain: ch.Lead.Company.Domain}
		ch.CompanyRef = true
		return ch
	}
	unknown := change(schemas.ChangeNewLead, "u1", "s_u", 1)
	unknown.LeadKey = schemas.LeadKey(ws, "unknown.example")
	unknown.Lead.Company = schemas.Company{Name: "unknown.example", Domain: "unknown.example"}
	h.send(t, byRef(mdxChange("m1")), byRef(unknown), sentinel("end"))
	got := h.deliveries(t, 3)
	subjects := map[string]string{}
	for _, r := range got {
		if r.AutomationID == "aut_fin" {
			var lead schemas.Lead
			if err := json.Unmarshal(r.Subject, &lead); err != nil {
				t.Fatal(err)
			}
			subjects[lead.Company.Domain] = string(r.Subject)
		}
	}
	if len(subjects) != 2 {
		t.Fatalf("fired for %v, want mdxtechnology.com and unknown.example", subjects)
	}
	whole := mdxChange("m1").Lead // the directory's company without phone
	if want := string(whole.AppendJSON(nil)); subjects["mdxtechnology.com"] != want {
		t.Fatalf("subject's company is not the directory's:\n got %s\nwant %s", subjects["mdxtechnology.com"], want)
	}
	if want := string(unknown.Lead.AppendJSON(nil)); subjects["unknown.example"] != want {
		t.Fatalf("unknown company:\n got %s\nwant %s", subjects["unknown.example"], want)
	}
}
