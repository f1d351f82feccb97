package leadstore

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/leadflow/leadflow/schemas"
)

func sampleMeta() *SessionMeta {
	return &SessionMeta{Source: new("https://www.google.com/"), Browser: new("Safari"),
		Loc: schemas.GuideNetcontrolVisitorLocation(), UTM: schemas.SessionFacts{UTMSource: "google", UTMContent: "x"}}
}

func samplePageviews() []*Pageview {
	return []*Pageview{
		{URL: schemas.GuidePageURL, Host: "www.snitcher.com", Path: schemas.GuidePageURL[len("https://www.snitcher.com"):], VisitedAt: 11},
		{URL: "https://a/b", Host: "elsewhere", Path: "/x", VisitedAt: -12},
	}
}

// TestFieldsRoundTrip: the session facts and pageviews decode to what was
// encoded, the field names are the stored ones, and a host and path that
// are parts of the URL are stored as positions.
func TestFieldsRoundTrip(t *testing.T) {
	for _, m := range []*SessionMeta{sampleMeta(), {}} {
		var got SessionMeta
		if err := DecodeMeta(&got, string(AppendMeta(nil, m))); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, m) {
			t.Fatalf("meta decodes to %+v, want %+v", got, *m)
		}
	}
	for _, pv := range samplePageviews() {
		got, err := DecodePageview(string(AppendPageview(nil, pv)))
		if err != nil {
			t.Fatal(err)
		}
		if *got != *pv {
			t.Fatalf("pageview decodes to %+v, want %+v", *got, *pv)
		}
	}
	if n, full := len(AppendPageview(nil, samplePageviews()[0])), len(schemas.GuidePageURL); n > full+16 {
		t.Fatalf("pageview encodes to %d bytes for a %d-byte URL", n, full)
	}
	if k := LeadRedisKey("lf:", "ws|acme.io"); k != "lf:lead:{ws|acme.io}" {
		t.Fatalf("lead key = %q", k)
	}
	if f, p := MetaField(12), PageviewField(12, 3); f != "s12" || p != "p12.3" {
		t.Fatalf("fields = %q, %q, want s12, p12.3", f, p)
	}
}

// FuzzDecodeFields: no input makes the decoders panic, and what decodes
// survives a round trip.
func FuzzDecodeFields(f *testing.F) {
	f.Add(AppendMeta(nil, sampleMeta()))
	for _, pv := range samplePageviews() {
		f.Add(AppendPageview(nil, pv))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if pv, err := DecodePageview(string(b)); err == nil {
			enc := AppendPageview(nil, pv)
			again, err := DecodePageview(string(enc))
			if err != nil || *again != *pv {
				t.Fatalf("pageview %+v re-encoded as %x decodes to %+v (%v)", *pv, enc, again, err)
			}
		}
		var m SessionMeta
		if DecodeMeta(&m, string(b)) == nil {
			enc := AppendMeta(nil, &m)
			var again SessionMeta
			if err := DecodeMeta(&again, string(enc)); err != nil || !bytes.Equal(AppendMeta(nil, &again), enc) {
				t.Fatalf("meta re-encoded as %x does not decode the same (%v)", enc, err)
			}
		}
	})
}

func TestSessionClaimFieldNamesItsSession(t *testing.T) {
	f := SessionClaimField("aut_01HX", string(AppendSessionKey(nil, 42, 7)))
	if f != "fired:aut_01HX:42:7" {
		t.Fatalf("field = %q", f)
	}
	if id, seq, ok := SessionOfClaim(f); !ok || id != 42 || seq != 7 {
		t.Fatalf("SessionOfClaim(%q) = %d, %d, %v; want 42, 7, true", f, id, seq, ok)
	}
	for _, other := range []string{"fired:aut_1", "revealed:a@b.c", "reveals:aut_1", "fired::7", "fired:aut:x:7", "fired:aut:1:y", "s3", "p3.1"} {
		if _, _, ok := SessionOfClaim(other); ok {
			t.Errorf("SessionOfClaim(%q) is ok; want not a session claim", other)
		}
	}
}
