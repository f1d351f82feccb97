package schemas_test

import (
	"bytes"
	encjson "encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// This file holds what the lead change decoder's tests, fuzz test and
// benchmarks share: reference types that reflection-based decoders (goccy,
// as the evaluate stage used before, and encoding/json) decode into, sample
// changes, and an encoder that writes changes as the leads stage does.

// refChange is schemas.LeadChange for goccy and encoding/json to decode by
// reflection, without the hand-written decoder's UnmarshalJSON methods: the
// alias types drop LeadChange's, Lead's and Company's methods, and Lead and
// Company are shadowed by fields of alias types (a shallower field wins).
// The times keep their own UnmarshalJSON methods.
type refChange struct {
	changeAlias
	Lead refLead `json:"lead"`
}

// refLead is schemas.Lead for reflection (see refChange).
type refLead struct {
	leadAlias
	Company refCompany `json:"company"`
}

type (
	changeAlias schemas.LeadChange
	leadAlias   schemas.Lead
	refCompany  schemas.Company
)

func (r *refLead) value() schemas.Lead {
	l := schemas.Lead(r.leadAlias)
	l.Company = schemas.Company(r.Company)
	return l
}

func (r *refChange) value() schemas.LeadChange {
	c := schemas.LeadChange(r.changeAlias)
	c.Lead = r.Lead.value()
	return c
}

// goccyChange decodes data as the evaluate stage did before the hand-written
// decoder: goccy/go-json by reflection.
func goccyChange(data []byte) (schemas.LeadChange, error) {
	var r refChange
	err := gojson.Unmarshal(data, &r)
	return r.value(), err
}

// stdChange decodes data with encoding/json.
func stdChange(data []byte) (schemas.LeadChange, error) {
	var r refChange
	err := encjson.Unmarshal(data, &r)
	return r.value(), err
}

// sampleChange returns a change of the guide's lead with n sessions of m
// pageviews each (n, m >= 1), the newest first. Odd sessions have null
// facts (source, location), like a direct visit without geolocation.
func sampleChange(n, m int) schemas.LeadChange {
	lead := schemas.GuideNetcontrolLead()
	at := schemas.GuideHitTime()
	first := lead.RecentSessions[0]
	lead.RecentSessions = nil
	for i := range n {
		s := first
		start := at.Add(-time.Duration(i) * 26 * time.Hour)
		s.StartedAt, s.Pageviews, s.TotalDuration = schemas.NewSessionTime(start), nil, 0
		if i%2 == 1 {
			s.Source, s.Location = nil, schemas.Location{}
		}
		for j := range m {
			pv := first.Pageviews[0]
			path := "/blog/post-" + strconv.Itoa(i) + "-" + strconv.Itoa(j) + "?utm_source=google&page=" + strconv.Itoa(j)
			pv.URL, pv.Path = "https://"+pv.Host+path, path
			pv.TimeSpent = int64(5 + 7*j)
			pv.VisitedAt = schemas.NewSessionTime(start.Add(time.Duration(j) * time.Minute))
			s.Pageviews = append(s.Pageviews, pv)
			s.TotalDuration += pv.TimeSpent
		}
		lead.RecentSessions = append(lead.RecentSessions, s)
	}
	lead.FirstSeen = schemas.NewTimestamp(at.Add(-time.Duration(n) * 26 * time.Hour))
	lead.LastSeen = schemas.NewTimestamp(at.Add(time.Duration(m) * time.Minute))
	return schemas.LeadChange{
		Kind:        schemas.ChangeSessionUpdated,
		WorkspaceID: "ws_123",
		LeadKey:     schemas.LeadKey("ws_123", "netcontrol.com"),
		SessionKey:  "31519477:" + strconv.Itoa(n),
		EventID:     "0b7c6f0e-9a4e-4c1e-8f55-5d2b1c9e7a01",
		EventTime:   at.Add(123456789 * time.Nanosecond),
		Stats:       schemas.LeadStats{Sessions: int64(n + 3), Pageviews: int64(n*m + 9), TotalDuration: 4321},
		Session:     schemas.SessionFacts{UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "20933837881"},
		Lead:        lead,
	}
}

// escapeChange returns a change whose strings need escapes of every kind,
// with a contact-shaped company (phone set) and a session without
// pageviews.
func escapeChange() schemas.LeadChange {
	c := sampleChange(2, 2)
	c.WorkspaceID = "ws \"quoted\" \\ back\\slash"
	c.EventID = "tab\there, nl\nthere, ctl\x01\x1f, del\x7f"
	c.Session.UTMTerm = "<script>&amp;</script> \u2028\u2029"
	c.Session.UTMContent = "Åbo – 東京 😀"
	co := schemas.GuideMDX()
	co.Name = `MDX "Technology" \ Limited`
	c.Lead.Company = co
	c.Lead.RecentSessions[0].Pageviews[1].Path = "/p?q=\"x\"&r=\\"
	c.Lead.RecentSessions[1].Pageviews = nil
	c.Lead.RecentSessions[1].Browser = new("Mozilla \"Firefox\"\n")
	return c
}

// encodeChange writes c as the leads stage does: the LeadChange members in
// order (the head right after "kind"), the subject by Lead.AppendJSON, no
// HTML escaping; EventTime keeps its zone.
func encodeChange(t testing.TB, c *schemas.LeadChange) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := encjson.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// jsonTree decodes data into a generic tree (numbers kept as written).
func jsonTree(t testing.TB, data []byte) any {
	t.Helper()
	dec := encjson.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("jsonTree: %v", err)
	}
	return v
}

// marshalTree encodes a tree (map keys sorted, HTML escaped).
func marshalTree(t testing.TB, v any) []byte {
	t.Helper()
	data, err := encjson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// at returns the member at the dotted path of tree (array indexes as
// numbers), which must exist.
func at(tree any, path string) map[string]any {
	v := tree
	for p := range strings.SplitSeq(path, ".") {
		if p == "" {
			continue
		}
		if i, err := strconv.Atoi(p); err == nil {
			v = v.([]any)[i]
		} else {
			v = v.(map[string]any)[p]
		}
	}
	return v.(map[string]any)
}

// addUnknown adds unknown members (before and after the known ones in
// sorted order) to every object of tree.
func addUnknown(tree any) {
	switch v := tree.(type) {
	case map[string]any:
		for _, c := range v {
			addUnknown(c)
		}
		v["_x"] = map[string]any{"a": []any{1, 2.5, map[string]any{"b": nil, "c": []any{}}}, "d": "é\"", "e": true}
		v["zz_y"] = []any{false, nil, "s", []any{[]any{}}}
		v["Zz_z"] = -1.5e-7
	case []any:
		for _, c := range v {
			addUnknown(c)
		}
	}
}
