package leads

import (
	"bytes"
	encjson "encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// jsonTokens flattens a JSON document into keys, delimiters and typed
// values in order, so that two documents compare by content and key
// order whatever their whitespace and escaping.
func jsonTokens(t *testing.T, data []byte) []string {
	t.Helper()
	dec := encjson.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case encjson.Delim:
			out = append(out, v.String())
		case string:
			out = append(out, "string:"+v) // keys and strings alike; order tells them apart
		case encjson.Number:
			f, err := strconv.ParseFloat(v.String(), 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, "number:"+strconv.FormatFloat(f, 'g', -1, 64))
		case bool:
			out = append(out, "bool:"+strconv.FormatBool(v))
		case nil:
			out = append(out, "null")
		}
	}
	return out
}

func TestGuideHitMakesTheGuideNewLeadSubject(t *testing.T) {
	f := newFixture(t, testStageConfig())
	o := f.run(nil, f.rec(schemas.GuideNetcontrolHit()))
	if len(o.recs) != 1 || len(o.dead) != 0 {
		t.Fatalf("got %d changes, %d dead letters (%v)", len(o.recs), len(o.dead), o.reasons)
	}
	var env struct {
		Kind string               `json:"kind"`
		Lead encjson.RawMessage   `json:"lead"`
		Sess schemas.SessionFacts `json:"session"`
		St   schemas.LeadStats    `json:"stats"`
	}
	if err := encjson.Unmarshal(o.recs[0].Value, &env); err != nil {
		t.Fatalf("change is not JSON: %v\n%s", err, o.recs[0].Value)
	}
	if env.Kind != schemas.ChangeNewLead {
		t.Fatalf("kind = %s", env.Kind)
	}
	// The change carries the company by reference; evaluate completes
	// it from the same directory.
	var ch schemas.LeadChange
	if err := ch.UnmarshalJSON(o.recs[0].Value); err != nil {
		t.Fatal(err)
	}
	want := schemas.GuideNetcontrolLead()
	want.ID = ch.Lead.ID
	if got, w := []byte(env.Lead), refSubject(&want); !bytes.Equal(got, w) {
		t.Fatalf("change's subject differs from the guide's by reference:\n got  %s\n want %s", got, w)
	}
	if !ch.CompanyRef || !ch.ResolveCompany(testCompanies().Company) {
		t.Fatalf("company by reference %v, and not in the directory", ch.CompanyRef)
	}

	// Byte for byte what schemas encodes for the guide's subject, id aside.
	subject := ch.Lead.AppendJSON(nil)
	if w := want.AppendJSON(nil); !bytes.Equal(subject, w) {
		t.Fatalf("subject differs from the guide's:\n got  %s\n want %s", subject, w)
	}

	// And the same document as the golden fixture (the guide's sample).
	fixture, err := os.ReadFile("../../schemas/testdata/new_lead.json")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Subjects []encjson.RawMessage `json:"subjects"`
	}
	if err := encjson.Unmarshal(fixture, &body); err != nil || len(body.Subjects) != 1 {
		t.Fatalf("fixture: %v (%d subjects)", err, len(body.Subjects))
	}
	g, w := jsonTokens(t, subject), jsonTokens(t, body.Subjects[0])
	if len(g) != len(w) {
		t.Fatalf("subject has %d tokens, the fixture %d", len(g), len(w))
	}
	for i := range g {
		if i > 0 && w[i-1] == "string:id" && i == 2 {
			continue // the id is ours, not the guide's 31519477
		}
		if g[i] != w[i] {
			t.Fatalf("token %d: got %q, fixture %q", i, g[i], w[i])
		}
	}
	if env.Sess.UTMSource != "google" || env.Sess.UTMMedium != "cpc" || env.St != (schemas.LeadStats{Sessions: 1, Pageviews: 1, TotalDuration: 14}) {
		t.Fatalf("session facts %+v, stats %+v", env.Sess, env.St)
	}
}

func TestChangeEncodingDecodesToTheSameValues(t *testing.T) {
	f := newFixture(t, testStageConfig())
	h := schemas.GuideNetcontrolHit()
	h.EventID = "quote\"and\\back\u2028"
	h.UTMContent = "<b>&"
	o := f.run(nil, f.rec(h))
	var c schemas.LeadChange
	if err := encjson.Unmarshal(o.recs[0].Value, &c); err != nil {
		t.Fatalf("%v\n%s", err, o.recs[0].Value)
	}
	if c.EventID != h.EventID || c.Session.UTMContent != "<b>&" || !c.EventTime.Equal(h.Timestamp) ||
		c.SessionKey != strconv.FormatInt(c.Lead.ID, 10)+":1" || c.WorkspaceID != "ws_123" || c.LeadKey != "ws_123|netcontrol.com" {
		t.Fatalf("decoded change = %+v", c)
	}
	// The subject re-encodes to the same bytes with the schemas encoder
	// (its company by reference).
	var env struct {
		Lead encjson.RawMessage `json:"lead"`
	}
	_ = encjson.Unmarshal(o.recs[0].Value, &env)
	if got := refSubject(&c.Lead); !bytes.Equal(got, env.Lead) {
		t.Fatalf("subject is not what schemas.Lead.AppendJSON writes:\n got  %s\n want %s", env.Lead, got)
	}
}

// TestSubjectsAreWhatSchemasEncodes drives a lead through many random
// hits (sliding pageview windows, sessions coming and going) and checks
// that every subject the stage encodes from its fragments and caches is
// byte for byte what schemas.Lead.AppendJSON writes for the same values.
func TestSubjectsAreWhatSchemasEncodes(t *testing.T) {
	cfg := testStageConfig()
	cfg.MaxPageviews, cfg.RecentSessions, cfg.MaxSessions = 3, 2, 3
	f := newFixture(t, cfg)
	hits := newRandomHits(1, 4)
	for i := 0; i < 400; i++ {
		h := hits.next()
		o := f.run(nil, f.rec(h))
		for _, r := range o.recs {
			var env struct {
				Lead encjson.RawMessage `json:"lead"`
			}
			if err := encjson.Unmarshal(r.Value, &env); err != nil {
				t.Fatalf("hit %d: %v", i, err)
			}
			var l schemas.Lead
			if err := l.UnmarshalJSON(env.Lead); err != nil {
				t.Fatal(err)
			}
			if want := refSubject(&l); !bytes.Equal(want, env.Lead) {
				t.Fatalf("hit %d: subject differs from schemas' encoding:\n got  %s\n want %s", i, env.Lead, want)
			}
		}
	}
	// And a state read back from Redis encodes the same as the cached one.
	next := pv("last", "s1", hits.at+time.Second, 1, "https://acme.io/last")
	a := f.run(nil, f.rec(next))
	f.off--
	b := f.run(f.newStage(), f.rec(next)) // a replay on a fresh stage
	sameOutputs(t, "cached vs read from Redis", b.recs, a.recs)
}
