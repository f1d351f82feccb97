package schemas_test

import (
	"bytes"
	encjson "encoding/json"
	"math"
	"net/url"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

func TestTimestampFormats(t *testing.T) {
	helsinki := time.FixedZone("EEST", 3*3600)
	at := time.Date(2024, 5, 15, 13, 55, 50, 123456789, helsinki)
	ts := schemas.Timestamp{Time: at}
	if got, _ := ts.MarshalJSON(); string(got) != `"2024-05-15T10:55:50.123456Z"` {
		t.Errorf("Timestamp = %s", got)
	}
	st := schemas.SessionTime{Time: at}
	if got, _ := st.MarshalJSON(); string(got) != `"2024-05-15 10:55:50"` {
		t.Errorf("SessionTime = %s", got)
	}
	if got := (schemas.Timestamp{}).String(); got != "0001-01-01T00:00:00.000000Z" {
		t.Errorf("zero Timestamp = %s", got)
	}
	var back schemas.Timestamp
	if err := back.UnmarshalJSON([]byte(`"2024-05-15T10:55:50.123456Z"`)); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(at.Truncate(time.Microsecond)) || back.Location() != time.UTC {
		t.Errorf("Timestamp decoded as %v", back.Time)
	}
	if err := back.UnmarshalJSON([]byte(`"2024-05-15T12:55:50+02:00"`)); err != nil || back.Hour() != 10 {
		t.Errorf("RFC 3339 with offset: %v, %v", back.Time, err)
	}
	var sback schemas.SessionTime
	if err := sback.UnmarshalJSON([]byte(`"2024-05-15 10:55:50"`)); err != nil {
		t.Fatal(err)
	}
	if !sback.Equal(at.Truncate(time.Second)) || sback.Location() != time.UTC {
		t.Errorf("SessionTime decoded as %v", sback.Time)
	}
	for _, bad := range []string{`123`, `"2024-05-15"`, `"x"`, `"`} {
		if err := back.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("Timestamp accepted %s", bad)
		}
		if err := sback.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("SessionTime accepted %s", bad)
		}
	}
	before := back
	if err := back.UnmarshalJSON([]byte(`null`)); err != nil || !back.Equal(before.Time) {
		t.Errorf("null changed the Timestamp: %v %v", back, err)
	}
	// Both decoders used by other stages agree.
	var viaGoccy struct {
		T schemas.Timestamp   `json:"t"`
		S schemas.SessionTime `json:"s"`
	}
	if err := gojson.Unmarshal([]byte(`{"t":"2024-05-15T10:55:50.000000Z","s":"2024-05-15 10:55:50"}`), &viaGoccy); err != nil {
		t.Fatal(err)
	}
	if !viaGoccy.T.Equal(schemas.GuideHitTime()) || !viaGoccy.S.Equal(schemas.GuideHitTime()) {
		t.Errorf("goccy decoded %v / %v", viaGoccy.T, viaGoccy.S)
	}
}

func TestHitFromGuideEvent(t *testing.T) {
	ev := schemas.GuideNetcontrolEvent()
	h := ev.Hit()
	lead := schemas.GuideNetcontrolLead()
	pv := lead.RecentSessions[0].Pageviews[0]
	if h.Host != pv.Host || h.Path != pv.Path || h.URL != pv.URL {
		t.Errorf("host/path = %q %q, want %q %q", h.Host, h.Path, pv.Host, pv.Path)
	}
	if h.UTMSource != "google" || h.UTMMedium != "cpc" || h.UTMCampaign != "20933837881" ||
		h.UTMTerm != "leadforensics" || h.UTMContent != "158349409355" {
		t.Errorf("utm = %q %q %q %q %q", h.UTMSource, h.UTMMedium, h.UTMCampaign, h.UTMTerm, h.UTMContent)
	}
	if !h.Timestamp.Equal(schemas.GuideHitTime()) || h.TimeSpent != 14 || h.Referrer != "https://www.google.com/" {
		t.Errorf("hit = %+v", h)
	}
	h.CompanyDomain, h.NetworkType, h.Browser = "netcontrol.com", schemas.NetworkBusiness, "Safari"
	loc := schemas.GuideNetcontrolVisitorLocation()
	h.Location = &loc
	if key := string(h.AppendKey(nil)); key != "ws_123|netcontrol.com" || key != schemas.LeadKey("ws_123", "netcontrol.com") {
		t.Errorf("key = %q", key)
	}

	data := h.AppendJSON(nil)
	if !encjson.Valid(data) {
		t.Fatalf("invalid hit JSON: %s", data)
	}
	var back schemas.Hit
	if err := back.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	if again := back.AppendJSON(nil); !bytes.Equal(again, data) {
		t.Errorf("hit round trip:\n%s\n%s", data, again)
	}
}

func TestPagePath(t *testing.T) {
	for in, want := range map[string]string{
		"https://a.b":               "/",
		"https://a.b?x=1":           "/?x=1",
		"https://a.b/p%20q?x=%41":   "/p%20q?x=%41",
		"https://a.b/path?":         "/path?",
		"https://a.b/x#frag":        "/x",
		"https://a.b/a/b/c?x=1&y=2": "/a/b/c?x=1&y=2",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := schemas.PagePath(u); got != want {
			t.Errorf("PagePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUTMParams(t *testing.T) {
	ev := schemas.RawEvent{URL: "https://a.b/?utm_source=&utm_source=news%20letter&utm_medium=e+mail&utm_campaign=%zz&utm_x=1&utm_term"}
	h := ev.Hit()
	if h.UTMSource != "news letter" || h.UTMMedium != "e mail" || h.UTMCampaign != "%zz" || h.UTMTerm != "" {
		t.Errorf("utm = %+v", h)
	}
	if (&schemas.RawEvent{URL: "::bad"}).Hit().Host != "" {
		t.Error("host from a bad URL")
	}
}

func TestAppendPayloadAndSize(t *testing.T) {
	for _, subjects := range [][][]byte{nil, {[]byte(`{"a":1}`)}, {[]byte(`{"a":1}`), []byte(`[]`), []byte(`"x"`)}} {
		body := schemas.AppendPayload([]byte("prefix"), schemas.EventNewSession, subjects)
		body = bytes.TrimPrefix(body, []byte("prefix"))
		if !encjson.Valid(body) {
			t.Fatalf("invalid body %s", body)
		}
		total := 0
		for _, s := range subjects {
			total += len(s)
		}
		if got := schemas.PayloadSize(schemas.EventNewSession, len(subjects), total); got != len(body) {
			t.Errorf("PayloadSize = %d, body is %d bytes: %s", got, len(body), body)
		}
	}
	if got := string(schemas.AppendPayload(nil, "new_lead", [][]byte(nil))); got != `{"event":"new_lead","subjects":[]}` {
		t.Errorf("empty payload = %s", got)
	}
}

func TestEventNames(t *testing.T) {
	if schemas.WireEvent(schemas.EventContactRevealed, true) != "contacts.revealed" ||
		schemas.WireEvent(schemas.EventContactRevealed, false) != "contact_revealed" ||
		schemas.WireEvent(schemas.EventNewLead, true) != "new_lead" {
		t.Error("WireEvent")
	}
	if !schemas.KnownEvent("new_session") || schemas.KnownEvent("contacts.revealed") || schemas.KnownEvent("") {
		t.Error("KnownEvent")
	}
	for _, ev := range []string{schemas.EventNewLead, schemas.EventNewSession, schemas.EventContactRevealed, schemas.LegacyContactRevealed} {
		name, ok := schemas.SchemaForEvent(ev)
		if !ok {
			t.Fatalf("no schema for %s", ev)
		}
		if _, err := schemas.JSONSchema(name); err != nil {
			t.Error(err)
		}
	}
}

func TestNullsAndNonFinite(t *testing.T) {
	var c schemas.Company
	c.Name, c.Domain = "X & <Y>", "x.com"
	c.AnnualRevenue = new(float64)
	*c.AnnualRevenue = 0
	c.TotalFunding = new(math.NaN())
	got := string(c.AppendLeadJSON(nil))
	want := `{"name":"X & <Y>","domain":"x.com","website":null,"industry":null,"founded_year":null,"employee_range":null,` +
		`"annual_revenue":0,"total_funding":null,"location":null,"description":null,"geo":{"country":null,"country_code":null,` +
		`"state":null,"state_code":null,"postal_code":null,"city":null,"street":null,"street_number":null},"profiles":{` +
		`"crunchbase":{"handle":null,"url":null},"linkedin":{"handle":null,"url":null},"facebook":{"handle":null,"url":null},` +
		`"twitter":{"handle":null,"url":null},"instagram":{"handle":null,"url":null},"youtube":{"handle":null,"url":null}}}`
	if got != want {
		t.Errorf("empty company:\n got  %s\n want %s", got, want)
	}
	lead := schemas.Lead{ID: 1, Company: c, RecentSessions: []schemas.Session{{}}}
	body := lead.AppendJSON(nil)
	if !bytes.Contains(body, []byte(`"pageviews":[]`)) || !bytes.Contains(body, []byte(`"location":{"city":null`)) {
		t.Errorf("nil slices or location not encoded as [] / object: %s", body)
	}
	v, err := schemas.NewValidator(schemas.SchemaNewLead)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(schemas.AppendPayload(nil, schemas.EventNewLead, [][]byte{body})); err != nil {
		t.Errorf("minimal lead does not match the schema: %v", err)
	}
}
