package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/bench/adminapi"
	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// fakePipeline stands in for a leadflow process in tests of the harness:
// the admin API routes the harness uses, /readyz, /metrics, and a
// consumer of sessions.raw that sends signed new_lead and new_session
// webhooks for company visitors (not bots), and contact_revealed webhooks
// for reveal_contacts automations (from the test data set's contacts), per
// DESIGN 1.5, one subject per request.
type fakePipeline struct {
	t      *testing.T
	data   *traffic.Data
	token  string
	srv    *httptest.Server
	client *http.Client

	mu          sync.Mutex
	webhooks    map[string]adminapi.Webhook
	segments    map[string][]string
	personas    map[string]adminapi.Persona
	automations map[string][]adminapi.Automation // by workspace
	leads       map[string]int64                 // workspace|domain
	sessions    map[string]bool
	contacts    map[string][]dataset.ContactRecord // by company domain
	revealed    map[string]bool                    // workspace|email
	nextID      int

	recordsIn, recordsOut *prometheus.CounterVec
	lag                   *prometheus.GaugeVec
}

func newFakePipeline(t *testing.T, data *traffic.Data, brokers []string, rawTopic string) *fakePipeline {
	f := &fakePipeline{t: t, data: data, token: "tok", client: &http.Client{Timeout: 10 * time.Second},
		webhooks: map[string]adminapi.Webhook{}, segments: map[string][]string{}, personas: map[string]adminapi.Persona{}, automations: map[string][]adminapi.Automation{},
		leads: map[string]int64{}, sessions: map[string]bool{}, revealed: map[string]bool{}}
	var err error
	if f.contacts, err = dataset.LoadContacts(filepath.Join(testDataDir(t), dataset.ContactsFile)); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f.recordsIn = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_records_in_total"}, []string{"stage"})
	f.recordsOut = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_records_out_total"}, []string{"stage", "topic"})
	f.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leadflow_consumer_lag_records"}, []string{"stage", "topic", "partition"})
	reg.MustRegister(f.recordsIn, f.recordsOut, f.lag)
	f.lag.WithLabelValues("enrich", rawTopic, "0").Set(0)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ready\n")) })
	mux.HandleFunc("POST /v1/workspaces/{ws}/{kind}", f.create)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(rawTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) { f.process(ctx, r.Value) })
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return f
}

// create serves POST /v1/workspaces/{ws}/{webhooks,segments,automations}.
func (f *fakePipeline) create(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"bad token"}}`))
		return
	}
	ws := r.PathValue("ws")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := r.PathValue("kind") + "_" + strconv.Itoa(f.nextID)
	var err error
	switch r.PathValue("kind") {
	case "webhooks":
		var wh adminapi.Webhook
		err = json.NewDecoder(r.Body).Decode(&wh)
		f.webhooks[id] = wh
	case "segments":
		var s struct {
			Filter struct {
				All []struct {
					Field string   `json:"field"`
					Op    string   `json:"op"`
					Value []string `json:"value"`
				} `json:"all"`
			} `json:"filter"`
		}
		err = json.NewDecoder(r.Body).Decode(&s)
		if err == nil && (len(s.Filter.All) != 1 || s.Filter.All[0].Field != "company.industry" || s.Filter.All[0].Op != "in") {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"error":{"code":"invalid","message":"fake supports one industry condition"}}`))
			return
		}
		f.segments[id] = s.Filter.All[0].Value
	case "personas":
		var pe adminapi.Persona
		err = json.NewDecoder(r.Body).Decode(&pe)
		if err == nil && (pe.Name == "" || pe.JobTitles == nil || pe.Countries == nil) {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"error":{"code":"invalid","message":"persona needs every list"}}`))
			return
		}
		f.personas[id] = pe
	case "automations":
		var a adminapi.Automation
		err = json.NewDecoder(r.Body).Decode(&a)
		if err == nil && utf8.RuneCountInString(a.Name) > 200 {
			// As the admin API: a regression test for the reveal rule's
			// long description.
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"error":{"code":"validation_failed","message":"name must be at most 200 characters"}}`))
			return
		}
		f.automations[ws] = append(f.automations[ws], a)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":"bad_json","message":"` + err.Error() + `"}}`))
		return
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"id":"` + id + `"}`))
}

// process handles one raw event.
func (f *fakePipeline) process(ctx context.Context, value []byte) {
	f.recordsIn.WithLabelValues("enrich").Inc()
	ev, err := schemas.DecodeRawEvent(value, 0)
	if err != nil {
		return
	}
	ua := strings.ToLower(ev.UserAgent)
	if strings.Contains(ua, "bot") || strings.Contains(ua, "spider") || strings.Contains(ua, "externalhit") {
		return
	}
	company := -1
	for i, c := range f.data.Companies {
		for _, n := range c.Networks {
			if n.Network.Contains(ev.Addr) {
				company = i
			}
		}
	}
	if company < 0 {
		return
	}
	f.recordsOut.WithLabelValues("enrich", "leadflow.hits").Inc()
	co := f.data.Companies[company]
	f.mu.Lock()
	key := ev.WorkspaceID + "|" + co.Domain
	id, known := f.leads[key]
	if !known {
		id = int64(len(f.leads) + 1)
		f.leads[key] = id
	}
	newSession := !f.sessions[ev.SessionID]
	f.sessions[ev.SessionID] = true
	type send struct {
		url, secret, event string
		subject            []byte // nil: the lead
	}
	var sends []send
	for _, a := range f.automations[ev.WorkspaceID] {
		if a.SegmentID != "" {
			in := false
			for _, ind := range f.segments[a.SegmentID] {
				in = in || strings.EqualFold(ind, co.Industry)
			}
			if !in {
				continue
			}
		}
		fires := a.Trigger == schemas.EventNewLead && !known || a.Trigger == schemas.EventNewSession && newSession
		switch {
		case !fires:
		case a.Action.Type == adminapi.ActionRevealContacts:
			for _, c := range f.revealLocked(ev.WorkspaceID, co.Domain, a.Action) {
				for _, whID := range a.Action.WebhookIDs {
					wh := f.webhooks[whID]
					sends = append(sends, send{wh.URL, wh.Secret, schemas.EventContactRevealed, c})
				}
			}
		default:
			wh := f.webhooks[a.Action.WebhookID]
			sends = append(sends, send{wh.URL, wh.Secret, a.Trigger, nil})
		}
	}
	f.mu.Unlock()
	lead := schemas.Lead{ID: id, Company: schemas.Company{Name: co.Domain, Domain: co.Domain},
		RecentSessions: []schemas.Session{{Pageviews: []schemas.Pageview{{URL: ev.URL, Host: ev.PageURL.Host, Path: ev.PageURL.Path}}}}}
	subj := lead.AppendJSON(nil)
	for _, s := range sends {
		b := subj
		if s.subject != nil {
			b = s.subject
		}
		f.post(ctx, s.url, s.secret, schemas.AppendPayload(nil, s.event, [][]byte{b}))
	}
}

// revealLocked reveals, for a reveal_contacts action fired by a new lead
// of domain in workspace ws, the company's contacts that fit the persona,
// in file order, at most the reveal limit and never one already revealed
// in the workspace, and returns their subjects. f.mu must be held.
func (f *fakePipeline) revealLocked(ws, domain string, act adminapi.Action) [][]byte {
	pe := f.personas[act.PersonaID]
	var out [][]byte
	for i := range f.contacts[domain] {
		c := &f.contacts[domain][i]
		if act.RevealLimit > 0 && len(out) == act.RevealLimit {
			break
		}
		if f.revealed[ws+"|"+c.Email] || !personaFits(pe, c) {
			continue
		}
		f.revealed[ws+"|"+c.Email] = true
		subj := c.Contact(schemas.Company{Name: domain, Domain: domain})
		out = append(out, subj.AppendJSON(nil))
	}
	return out
}

// personaFits is the evaluate stage's persona rule, written out again: every
// non-empty list must hold, job titles by keyword, the rest by value, all
// case-insensitively.
func personaFits(pe adminapi.Persona, c *dataset.ContactRecord) bool {
	in := func(set []string, v string) bool {
		return len(set) == 0 || slices.ContainsFunc(set, func(s string) bool { return strings.EqualFold(s, v) })
	}
	if len(pe.JobTitles) > 0 {
		if c.Title == nil || !slices.ContainsFunc(pe.JobTitles, func(k string) bool {
			return strings.Contains(strings.ToLower(*c.Title), strings.ToLower(k))
		}) {
			return false
		}
	}
	return in(pe.Seniorities, c.Seniority) && in(pe.Departments, c.Department) && in(pe.Countries, c.CountryCode)
}

// post sends one signed webhook request (DESIGN 1.3), without retries.
func (f *fakePipeline) post(ctx context.Context, url, secret string, body []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return
	}
	msgID := "msg_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req.Header.Set("Signature", hex.EncodeToString(m.Sum(nil)))
	m.Reset()
	m.Write([]byte(msgID + "." + ts + "."))
	m.Write(body)
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return
	}
	_ = resp.Body.Close()
}
