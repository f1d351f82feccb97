package leadstore

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/klauspost/compress/s2"

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

func TestClaimNameNamesItsSession(t *testing.T) {
	if f := ClaimName("aut_01HX", ""); f != "fired:aut_01HX" {
		t.Fatalf("new_lead claim name = %q", f)
	}
	f := ClaimName("aut_01HX", string(AppendSessionKey(nil, 42, 7)))
	if f != "fired:aut_01HX:42:7" {
		t.Fatalf("new_session claim name = %q", f)
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

// A chunk stores each URL as what differs from the previous stored one,
// the visit times as differences, and skipped pageviews as one byte.
func TestChunkRoundTrips(t *testing.T) {
	pvs := []*Pageview{
		{URL: "https://www.snitcher.com/pricing?utm_source=x", Host: "www.snitcher.com", Path: "/pricing", VisitedAt: 1715770550123456},
		nil,
		{URL: "https://www.snitcher.com/features", Host: "www.snitcher.com", Path: "/features", VisitedAt: 1715770560123456},
		{URL: "https://other.example/a", Host: "elsewhere", Path: "/b", VisitedAt: 1715770500000000},
		{URL: "", Host: "", Path: "", VisitedAt: -3},
	}
	b := []byte{FormatV1}
	var prev *Pageview
	for _, pv := range pvs {
		if pv == nil {
			b = AppendChunkSkip(b)
			continue
		}
		b = AppendChunkEntry(b, prev, pv)
		prev = pv
	}
	got, last, facts, err := DecodeChunk(string(b))
	if err != nil || len(got) != len(pvs) || last == nil || *last != *pvs[4] || facts != nil {
		t.Fatalf("DecodeChunk = %d entries, last %+v, facts %+v, %v", len(got), last, facts, err)
	}
	for i := range pvs {
		if (got[i] == nil) != (pvs[i] == nil) || (got[i] != nil && *got[i] != *pvs[i]) {
			t.Fatalf("entry %d = %+v, want %+v", i, got[i], pvs[i])
		}
	}
	// The second URL of the same site costs its path, not the whole URL.
	one := AppendChunkEntry(nil, nil, pvs[2])
	two := AppendChunkEntry(nil, pvs[0], pvs[2])
	if len(two) > len(one)-len("https://www.snitcher.com/") {
		t.Fatalf("entry after one of the same site: %d bytes, alone %d", len(two), len(one))
	}
	// More entries than a chunk holds do not decode.
	full := []byte{FormatV1}
	for range PageviewChunk + 1 {
		full = AppendChunkSkip(full)
	}
	if _, _, _, err := DecodeChunk(string(full)); err == nil {
		t.Fatal("a chunk of 9 entries decodes")
	}
}

// A session's chunk 0 can start with its facts (ChunkWithFacts): they
// decode to what was stored, the entries after them as in any chunk, and
// a chunk of facts alone (a session without pageviews) decodes too.
func TestChunkWithFactsRoundTrips(t *testing.T) {
	for _, m := range []*SessionMeta{sampleMeta(), {}} {
		for _, pvs := range [][]*Pageview{nil, samplePageviews()} {
			b := AppendChunkStart(nil, m)
			var prev *Pageview
			for _, pv := range pvs {
				b = AppendChunkEntry(b, prev, pv)
				prev = pv
			}
			got, last, facts, err := DecodeChunk(string(b))
			if err != nil || len(got) != len(pvs) || (last == nil) != (len(pvs) == 0) {
				t.Fatalf("DecodeChunk = %d entries, last %+v, %v; want %d", len(got), last, err, len(pvs))
			}
			if !reflect.DeepEqual(facts, m) {
				t.Fatalf("facts decode to %+v, want %+v", facts, m)
			}
			for i := range pvs {
				if *got[i] != *pvs[i] {
					t.Fatalf("entry %d = %+v, want %+v", i, got[i], pvs[i])
				}
			}
			// Facts cut short do not decode.
			if _, _, _, err := DecodeChunk(string(b[:len(AppendChunkStart(nil, m))-1])); err == nil {
				t.Fatal("a chunk with its facts cut short decodes")
			}
		}
	}
	if got := AppendChunkStart(nil, nil); !bytes.Equal(got, []byte{FormatV1}) {
		t.Fatalf("a chunk without facts starts %v", got)
	}
	if _, _, _, err := DecodeChunk(string([]byte{3})); err == nil {
		t.Fatal("a chunk of an unknown format decodes")
	}
}

func FuzzDecodeChunk(f *testing.F) {
	pv := &Pageview{URL: "https://a.io/x", Host: "a.io", Path: "/x", VisitedAt: 5}
	f.Add(string(AppendChunkEntry(AppendChunkSkip([]byte{FormatV1}), nil, pv)))
	f.Add(string(AppendChunkEntry(AppendChunkEntry([]byte{FormatV1}, nil, pv), pv, pv)))
	f.Add(string(AppendChunkEntry(AppendChunkStart(nil, sampleMeta()), nil, pv)))
	f.Add(string(AppendStoredChunk(nil, repetitiveChunk())))
	f.Fuzz(func(t *testing.T, raw string) {
		pvs, last, facts, err := DecodeChunk(raw)
		if err != nil {
			return
		}
		// What decodes re-encodes to a chunk that decodes the same.
		b := AppendChunkStart(nil, facts)
		var prev *Pageview
		for _, p := range pvs {
			if p == nil {
				b = AppendChunkSkip(b)
				continue
			}
			b = AppendChunkEntry(b, prev, p)
			prev = p
		}
		again, last2, facts2, err := DecodeChunk(string(AppendStoredChunk(nil, b)))
		if err != nil || len(again) != len(pvs) || (last == nil) != (last2 == nil) || !reflect.DeepEqual(facts, facts2) {
			t.Fatalf("re-encoded chunk: %d entries, %v; want %d", len(again), err, len(pvs))
		}
		for i := range pvs {
			if (pvs[i] == nil) != (again[i] == nil) || (pvs[i] != nil && *pvs[i] != *again[i]) {
				t.Fatalf("entry %d: %+v, then %+v", i, pvs[i], again[i])
			}
		}
	})
}

// repetitiveChunk is a chunk whose URLs repeat their query strings, as
// tracked pages' do.
func repetitiveChunk() []byte {
	b := AppendChunkStart(nil, sampleMeta())
	var prev *Pageview
	for i, path := range []string{"/pricing", "/blog/one", "/pricing/enterprise", "/contact"} {
		pv := &Pageview{URL: "https://www.example.com" + path + "?utm_source=google&utm_medium=cpc&utm_campaign=brand_search",
			Host: "www.example.com", Path: path, VisitedAt: int64(1715770550123456 + i*30_000_000)}
		b = AppendChunkEntry(b, prev, pv)
		prev = pv
	}
	return b
}

// A chunk is stored compressed when that is smaller, else as it is, and
// reads back the same either way; a compressed value that does not
// decompress to a chunk is corrupt.
func TestStoredChunkRoundTrips(t *testing.T) {
	chunk := repetitiveChunk()
	stored := AppendStoredChunk([]byte("prefix"), chunk)
	if !bytes.HasPrefix(stored, []byte("prefix")) || stored[6] != ChunkSnappy || len(stored)-6 >= len(chunk) {
		t.Fatalf("stored %d bytes for a %d-byte chunk: want it compressed after dst", len(stored)-6, len(chunk))
	}
	if got, err := ChunkBytes(string(stored[6:])); err != nil || got != string(chunk) {
		t.Fatalf("ChunkBytes = %v; want the chunk back", err)
	}
	pvs, _, facts, err := DecodeChunk(string(stored[6:]))
	if err != nil || len(pvs) != 4 || facts == nil || pvs[3].Path != "/contact" {
		t.Fatalf("DecodeChunk of the stored chunk = %v, %v, %v", pvs, facts, err)
	}
	small := AppendChunkEntry([]byte{FormatV1}, nil, &Pageview{URL: "https://a.io/x", Host: "a.io", Path: "/x", VisitedAt: 5})
	if got := AppendStoredChunk(nil, small); !bytes.Equal(got, small) {
		t.Fatalf("a chunk that does not compress is stored as %x, want as it is %x", got, small)
	}
	for _, bad := range []string{
		string([]byte{ChunkSnappy}),                                              // nothing
		string([]byte{ChunkSnappy, 0xff, 0xff, 0xff, 0x7f}),                      // claims 256 MiB
		string(append([]byte{ChunkSnappy}, stored[7:len(stored)-3]...)),          // cut short
		string(append([]byte{ChunkSnappy}, s2.EncodeSnappy(nil, stored[6:])...)), // compressed twice
	} {
		if _, err := ChunkBytes(bad); err == nil {
			t.Errorf("ChunkBytes(%x) = nil error, want corrupt", bad)
		}
	}
}

// TestDecodeChunkAllocatesPerChunk: a stored chunk with facts and four
// pageviews decodes in a few allocations (the decompressed bytes, the
// facts, the pageviews' block and slice, the URLs that share a prefix
// with the one before), not several per string: the leads stage keeps
// what it decodes, and every object it keeps is one more for the garbage
// collector to trace. The decoded values are what was stored.
func TestDecodeChunkAllocatesPerChunk(t *testing.T) {
	stored := string(AppendStoredChunk(nil, repetitiveChunk()))
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, _, err := DecodeChunk(stored); err != nil {
			t.Fatal(err)
		}
	})
	// 1 decompressed buffer + 1 SessionMeta + 1 of its values + 1 block +
	// 1 slice + 3 URLs built from the previous one's prefix.
	if allocs > 8 {
		t.Errorf("DecodeChunk of a 4-pageview chunk with facts: %.0f allocations, want at most 8", allocs)
	}
	pvs, last, facts, err := DecodeChunk(stored)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(facts, sampleMeta()) {
		t.Errorf("facts = %+v, want %+v", facts, sampleMeta())
	}
	if len(pvs) != 4 || last != pvs[3] || pvs[1].URL != "https://www.example.com/blog/one?utm_source=google&utm_medium=cpc&utm_campaign=brand_search" ||
		pvs[1].Host != "www.example.com" || pvs[1].Path != "/blog/one" || pvs[3].VisitedAt != 1715770550123456+90_000_000 {
		t.Errorf("pageviews = %+v %+v %+v %+v", *pvs[0], *pvs[1], *pvs[2], *pvs[3])
	}
}

func BenchmarkDecodeChunk(b *testing.B) {
	stored := string(AppendStoredChunk(nil, repetitiveChunk()))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := DecodeChunk(stored); err != nil {
			b.Fatal(err)
		}
	}
}
