package control

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func hexOf(s string) string { return hex.EncodeToString([]byte(s)) }
func b64Of(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestSecretNeverPrints(t *testing.T) {
	const secret = "whsec-do-not-print-me"
	w := webhook("ws_1", "wh_1")
	w.URL = "https://hooks.example.com/catch/123/capability-token"
	w.Secret = NewSecret(secret)

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, w), fmt.Sprintf(verb, w.Secret), fmt.Sprintf(verb, &w), fmt.Sprintf(verb, []Webhook{w}))
	}
	outs = append(outs, fmt.Sprint(w), fmt.Sprintln(w.Secret), w.String())
	j, _ := json.Marshal(w)
	js, _ := json.Marshal(struct{ S Secret }{w.Secret})
	outs = append(outs, string(j), string(js))

	var slogBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogBuf, nil)).Info("x", "secret", w.Secret, "webhook", w)
	outs = append(outs, slogBuf.String())

	core, logs := observer.New(zapcore.DebugLevel)
	var zapBuf bytes.Buffer
	jsonCore := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&zapBuf), zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(core, jsonCore))
	log.Info("webhook", zap.Object("webhook", w), zap.Any("any", w), zap.Any("secret", w.Secret),
		zap.Stringer("str", w), zap.Reflect("reflect", w), zap.Object("secret_obj", w.Secret))
	for _, e := range logs.All() {
		outs = append(outs, fmt.Sprint(e.ContextMap()))
	}
	outs = append(outs, zapBuf.String())

	for _, out := range outs {
		if strings.Contains(out, secret) || strings.Contains(out, hexOf(secret)) || strings.Contains(out, b64Of(secret)) {
			t.Fatalf("the secret leaked: %s", out)
		}
		if strings.Contains(out, "capability-token") && !strings.Contains(out, `"url":`) {
			t.Fatalf("a log or print form holds the full URL: %s", out)
		}
	}
	if !strings.Contains(string(j), `"has_secret":true`) {
		t.Fatalf("API form %s lacks has_secret", j)
	}
	if !strings.Contains(zapBuf.String(), `"url_host":"hooks.example.com"`) {
		t.Fatalf("zap form %s lacks url_host", zapBuf.String())
	}
	if w.Secret.Reveal() != secret {
		t.Fatal("Reveal lost the secret")
	}
}

func TestEntityJSONForms(t *testing.T) {
	at := time.Date(2024, 5, 15, 10, 55, 50, 0, time.UTC)
	a := Automation{ID: "aut_1", WorkspaceID: "ws", Name: "n", Trigger: TriggerNewLead, Enabled: true, CreatedAt: at, UpdatedAt: at,
		Action: Action{Type: ActionRevealContacts, PersonaID: "per_1", WebhookIDs: []string{"wh_1"}}}
	got, _ := json.Marshal(a)
	want := `{"id":"aut_1","workspace_id":"ws","name":"n","trigger":"new_lead","action":{"type":"reveal_contacts","persona_id":"per_1","reveal_limit":null,"webhook_ids":["wh_1"]},"enabled":true,"created_at":"2024-05-15T10:55:50Z","updated_at":"2024-05-15T10:55:50Z","segment_id":null}`
	if string(got) != want {
		t.Fatalf("automation JSON\n%s\nwant\n%s", got, want)
	}
	a.SegmentID, a.Action = "seg_1", Action{Type: ActionWebhook, WebhookID: "wh_1"}
	got, _ = json.Marshal(a)
	var back Automation
	if err := json.Unmarshal(got, &back); err != nil || back.SegmentID != "seg_1" || back.Action.WebhookID != "wh_1" {
		t.Fatalf("round trip of %s = %+v, %v", got, back, err)
	}
	p, _ := json.Marshal(Persona{ID: "per_1", WorkspaceID: "ws", Name: "p"})
	if !strings.Contains(string(p), `"job_titles":[],"seniorities":[],"departments":[],"countries":[]`) {
		t.Fatalf("persona JSON %s: empty lists must be []", p)
	}
}

func TestValidate(t *testing.T) {
	okW := webhook("ws_1", "wh_1")
	okA := automation("ws_1", "aut_1", "wh_1", time.Time{})
	okR := okA
	okR.Action = Action{Type: ActionRevealContacts, PersonaID: "per_1", RevealLimit: 3, WebhookIDs: []string{"wh_1", "wh_2"}}
	cases := []struct {
		name string
		e    Entity
		want map[string]string // field -> part of the message; nil: valid
	}{
		{"webhook ok", okW, nil},
		{"webhook everything wrong", Webhook{ID: "seg_1", WorkspaceID: "ws/1", URL: "ftp://x", Name: " ", MaxSubjects: 0,
			Secret: NewSecret(strings.Repeat("s", MaxSecretLen+1))}, map[string]string{
			"id": `starting with "wh_"`, "workspace_id": "may hold only", "url": "absolute http(s) URL",
			"name": "must not be empty", "max_subjects": "between 1 and 1000", "secret": "at most 512 bytes"}},
		{"webhook user info", func() Webhook { w := okW; w.URL = "https://u:p@example.com/"; return w }(), map[string]string{"url": "user info"}},
		{"webhook relative", func() Webhook { w := okW; w.URL = "/hook"; return w }(), map[string]string{"url": "absolute"}},
		{"webhook no host", func() Webhook { w := okW; w.URL = "https:///x"; return w }(), map[string]string{"url": "with a host"}},
		{"webhook bad port", func() Webhook { w := okW; w.URL = "https://example.com:99999/"; return w }(), map[string]string{"url": "port"}},
		{"webhook max subjects", func() Webhook { w := okW; w.MaxSubjects = 1001; return w }(), map[string]string{"max_subjects": "between"}},
		{"webhook long name", func() Webhook { w := okW; w.Name = strings.Repeat("é", MaxNameLen+1); return w }(), map[string]string{"name": "at most 200"}},
		{"segment ok", Segment{ID: "seg_1", WorkspaceID: "ws", Name: "s", Filter: json.RawMessage(`{"all":[]}`)}, nil},
		{"segment filter not object", Segment{ID: "seg_1", WorkspaceID: "ws", Name: "s", Filter: json.RawMessage(`[1]`)}, map[string]string{"filter": "JSON object"}},
		{"segment filter missing", Segment{ID: "seg_1", WorkspaceID: "ws", Name: "s"}, map[string]string{"filter": "required"}},
		{"segment filter huge", Segment{ID: "seg_1", WorkspaceID: "ws", Name: "s", Filter: json.RawMessage(`{"a":"` + strings.Repeat("x", MaxFilterBytes) + `"}`)}, map[string]string{"filter": "at most"}},
		{"persona ok", Persona{ID: "per_1", WorkspaceID: "ws", Name: "p", JobTitles: []string{"VP, Sales"}, Seniorities: []string{"vp", "c_level"}, Departments: []string{"sales"}, Countries: []string{"FI"}}, nil},
		{"persona bad entries", Persona{ID: "per_1", WorkspaceID: "ws", Name: "p", JobTitles: []string{""}, Seniorities: []string{"VP"}, Departments: []string{"sales dept"}, Countries: []string{"fin"}},
			map[string]string{"job_titles[0]": "empty", "seniorities[0]": "lower-case code", "departments[0]": "lower-case code", "countries[0]": "alpha-2"}},
		{"persona too many", Persona{ID: "per_1", WorkspaceID: "ws", Name: "p", Countries: make([]string, MaxPersonaValues+1)}, map[string]string{"countries": "at most 100"}},
		{"automation ok", okA, nil},
		{"reveal ok", okR, nil},
		{"automation bad", Automation{ID: "aut_1", WorkspaceID: "ws", Name: "a", Trigger: "new_visit", SegmentID: "wh_1", Action: Action{Type: "email"}},
			map[string]string{"trigger": "new_lead or new_session", "segment_id": `"seg_"`, "action.type": "webhook or reveal_contacts"}},
		{"automation missing", Automation{ID: "aut_1", WorkspaceID: "ws", Name: "a"}, map[string]string{"trigger": "required", "action.type": "required"}},
		{"webhook action with reveal fields", func() Automation {
			a := okA
			a.Action.PersonaID, a.Action.RevealLimit, a.Action.WebhookIDs = "per_1", 2, []string{"wh_2"}
			return a
		}(), map[string]string{"action.persona_id": "only for reveal_contacts", "action.reveal_limit": "only for reveal_contacts", "action.webhook_ids": "only for reveal_contacts"}},
		{"reveal bad", func() Automation {
			a := okR
			a.Action.PersonaID, a.Action.RevealLimit, a.Action.WebhookIDs, a.Action.WebhookID = "", 1001, []string{"wh_1", "per_2", "wh_1"}, "wh_9"
			return a
		}(), map[string]string{"action.persona_id": "required", "action.reveal_limit": "between 1 and 1000", "action.webhook_ids[1]": `"wh_"`,
			"action.webhook_ids[2]": "twice", "action.webhook_id": "only for webhook actions"}},
		{"reveal no webhooks", func() Automation { a := okR; a.Action.WebhookIDs = nil; return a }(), map[string]string{"action.webhook_ids": "at least one"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.e.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want an *InvalidError", err)
			}
			for field, msg := range c.want {
				if !strings.Contains(ie.Fields[field], msg) {
					t.Errorf("field %s = %q, want it to say %q", field, ie.Fields[field], msg)
				}
			}
			if len(ie.Fields) != len(c.want) {
				t.Errorf("fields = %v, want exactly %d", ie.Fields, len(c.want))
			}
		})
	}
}

func TestParseSecretKey(t *testing.T) {
	key := bytes.Repeat([]byte{0x5c}, 32)
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(key), base64.RawStdEncoding.EncodeToString(key),
		base64.URLEncoding.EncodeToString(key), hex.EncodeToString(key), " " + hex.EncodeToString(key) + "\n",
	} {
		got, err := ParseSecretKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseSecretKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(key[:16]), strings.Repeat("zz", 32)} {
		if _, err := ParseSecretKey(s); !errors.Is(err, ErrSecretKey) {
			t.Errorf("ParseSecretKey(%q) = %v, want ErrSecretKey", s, err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	kr, err := newKeyring(keyA, nil)
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := kr.seal(NewSecret("x"), "webhook/ws/wh_1")
	s2, _ := kr.seal(NewSecret("x"), "webhook/ws/wh_1")
	if s1.Nonce == s2.Nonce || s1.Ciphertext == s2.Ciphertext {
		t.Fatal("two seals of the same secret are equal: nonces are not random")
	}
	if got, err := kr.open(s1, "webhook/ws/wh_1"); err != nil || got.Reveal() != "x" {
		t.Fatalf("open = %v, %v", got.Reveal(), err)
	}
	tampered := *s1
	ct, _ := base64.StdEncoding.DecodeString(tampered.Ciphertext)
	ct[0] ^= 1
	tampered.Ciphertext = base64.StdEncoding.EncodeToString(ct)
	if _, err := kr.open(&tampered, "webhook/ws/wh_1"); !errors.Is(err, ErrSecretKey) {
		t.Fatalf("open of a tampered secret = %v", err)
	}
	if _, err := kr.open(&sealedSecret{Alg: "ROT13"}, "k"); !errors.Is(err, ErrSecretKey) {
		t.Fatalf("open of an unknown alg = %v", err)
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestCheckPublicURL(t *testing.T) {
	r := fakeResolver{
		"hooks.example.com": {netip.MustParseAddr("93.184.215.14")},
		"internal.example":  {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.8")},
		"localhost":         {netip.MustParseAddr("127.0.0.1")},
	}
	for raw, want := range map[string]string{
		"https://hooks.example.com/x":  "",
		"https://93.184.215.14:8443/x": "",
		"https://internal.example/":    "10.0.0.8",
		"http://localhost:8080/":       "127.0.0.1",
		"http://127.0.0.1/":            "127.0.0.1",
		"http://[::1]:9000/":           "::1",
		"http://169.254.169.254/":      "169.254.169.254",
		"https://nowhere.invalid/":     "does not resolve",
	} {
		got := CheckPublicURL(context.Background(), r, raw)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("CheckPublicURL(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestDerivedBuildsOncePerSnapshot(t *testing.T) {
	s, err := NewInMemory()
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, webhook("ws_1", "wh_1"))
	put(t, s, automation("ws_1", "aut_1", "wh_1", time.Time{}))
	type key struct{}
	var builds atomic.Int32
	build := func(w *Workspace) *[]string {
		builds.Add(1)
		var ids []string
		for _, a := range w.Automations() {
			ids = append(ids, a.ID)
		}
		return &ids
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { _ = Derived(s.Workspace("ws_1"), key{}, build) })
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("built %d times for one snapshot, want 1", n)
	}
	v := s.Version()
	put(t, s, automation("ws_1", "aut_2", "wh_1", time.Time{}))
	if s.Version() != v+1 {
		t.Fatalf("Version %d after a change, want %d", s.Version(), v+1)
	}
	got := Derived(s.Workspace("ws_1"), key{}, build)
	if builds.Load() != 2 || len(*got) != 2 {
		t.Fatalf("after a change: %d builds, value %v; want a rebuild with 2 automations", builds.Load(), *got)
	}
	if v := Derived(s.Workspace("ws_other"), key{}, build); len(*v) != 0 {
		t.Fatalf("Derived of a nil workspace = %v", *v)
	}
}

func TestAutomationsEnabledInStableOrder(t *testing.T) {
	s, _ := NewInMemory()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	put(t, s, webhook("ws_1", "wh_1"))
	put(t, s, automation("ws_1", "aut_c", "wh_1", base.Add(2*time.Second)))
	put(t, s, automation("ws_1", "aut_b", "wh_1", base))
	put(t, s, automation("ws_1", "aut_a", "wh_1", base))
	off := automation("ws_1", "aut_off", "wh_1", base)
	off.Enabled = false
	put(t, s, off)
	var ids []string
	for _, a := range s.Automations("ws_1") {
		ids = append(ids, a.ID)
	}
	if fmt.Sprint(ids) != "[aut_a aut_b aut_c]" {
		t.Fatalf("Automations = %v, want [aut_a aut_b aut_c]", ids)
	}
	if n := len(s.Workspace("ws_1").ListAutomations()); n != 4 {
		t.Fatalf("ListAutomations has %d, want 4", n)
	}
	if got := s.Workspace("ws_1").AutomationsUsing(Ref{KindWebhook, "ws_1", "wh_1"}); len(got) != 4 {
		t.Fatalf("AutomationsUsing = %d, want 4", len(got))
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = s.Automations("ws_1") }); allocs != 0 {
		t.Fatalf("Automations allocates %v times", allocs)
	}
}

func TestInMemoryStoreSealsLikeKafka(t *testing.T) {
	s, err := NewInMemory(WithSecretKey(keyA))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil || s.Ready() != nil {
		t.Fatalf("in-memory Start/Ready = %v / %v", err, s.Ready())
	}
	w := webhook("ws_1", "wh_1")
	w.Secret = NewSecret("mem-secret")
	put(t, s, w)
	if bytes.Contains(s.memLog[0].Value, []byte("mem-secret")) {
		t.Fatal("in-memory record holds the secret")
	}
	if got, _ := s.Webhook("ws_1", "wh_1"); got.Secret.Reveal() != "mem-secret" {
		t.Fatal("in-memory store lost the secret")
	}
	if err := s.Put(context.Background(), Webhook{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Put of an invalid webhook = %v", err)
	}
	if err := s.Delete(context.Background(), Ref{"gadget", "ws_1", "g_1"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Delete of an unknown kind = %v", err)
	}
}

func BenchmarkAutomations(b *testing.B) {
	s, _ := NewInMemory()
	for i := range 1000 {
		ws := fmt.Sprintf("ws_%d", i)
		put(b, s, webhook(ws, "wh_1"))
		for j := range 5 {
			put(b, s, automation(ws, fmt.Sprintf("aut_%d", j), "wh_1", time.Time{}))
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			ws := s.Workspace("ws_" + "5")
			if len(ws.Automations()) != 5 {
				b.Fatal("lookup failed")
			}
			if _, ok := ws.Webhook("wh_1"); !ok {
				b.Fatal("lookup failed")
			}
		}
	})
}
