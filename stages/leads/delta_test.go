package leads

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// nextHead is st after one more write: a ping on the first session, two
// new ring entries and the oldest evicted, as a batch of hits does.
func nextHead(st *leadState) *leadState {
	n := st.clone()
	n.gen++
	n.lastSeen += 7_000_000
	n.stats.TotalDuration += 7
	n.lastOffset += 3
	n.maxRecTime += 3
	n.sessions[0].spent[len(n.sessions[0].spent)-1] += 7
	n.sessions[0].duration += 7
	n.sessions[0].lastHit += 7_000_000
	n.ring = append(n.ring[1:], ringEntry{hash: rand.Uint64(), offset: n.lastOffset - 1, seq: 3},
		ringEntry{hash: rand.Uint64(), offset: n.lastOffset, seq: 3, emitted: true})
	return n
}

// ringState is sampleState with a full dedup ring of 32 entries, the
// part of a head that makes it large.
func ringState() *leadState {
	st := sampleState()
	st.ring = st.ring[:0]
	for i := range 32 {
		st.ring = append(st.ring, ringEntry{hash: rand.Uint64(), offset: st.lastOffset - int64(64-2*i), seq: 3, kind: uint8(i % 3), emitted: i%2 == 0})
	}
	return st
}

func TestHeadDeltaRebuildsThePreviousHeadAndIsSmall(t *testing.T) {
	old := ringState()
	cur := nextHead(old)
	base, target := appendHead(nil, cur), appendHead(nil, old)
	delta := appendDelta(nil, base, target, old.gen)
	got, err := applyDelta(base, delta)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, target) {
		t.Fatalf("delta rebuilds\n %x\nwant\n %x", got, target)
	}
	if g, err := deltaGen(delta); err != nil || g != old.gen {
		t.Fatalf("deltaGen = %d, %v; want %d", g, err, old.gen)
	}
	// The point of deltas: a previous head costs a fraction of a whole one.
	if len(delta)*4 > len(target) {
		t.Fatalf("delta of a %d-byte head is %d bytes, want under a quarter", len(target), len(delta))
	}
	t.Logf("head %d bytes, delta %d bytes", len(target), len(delta))
}

// Heads written before deltas existed (leadstore.FormatV1, ring offsets
// against lastOffset) still read: the bytes below are sampleState's and a
// genesis head's as the previous format wrote them.
func TestHeadsInThePreviousFormatStillDecode(t *testing.T) {
	for name, c := range map[string]struct {
		hex  string
		want *leadState
	}{
		"sample":  {"01ffffffffffffff0f070980efbfe2fe9e8c0603789f8d0616808080808040d69da7beef6303020306735f39663163140a3c020e0003110103735f31020100000404020100000000000000030305ffffffffffffffff000100", sampleState()},
		"genesis": {"0105000000000000040100000000", genesis(5, 2)},
	} {
		raw, _ := hex.DecodeString(c.hex)
		got, err := decodeHead(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := decodeHead(appendHead(nil, c.want))
		if err != nil {
			t.Fatal(err)
		}
		want.perPageview = true // the previous format had a field per pageview
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: previous format decodes to\n %+v\nwant\n %+v", name, got, want)
		}
	}
}

// A lead stored in the previous format (four whole FormatV1 heads, a field
// each, and a field per pageview) reads with its pre-images, and its next
// write stores its heads in one field (the current one whole, the others
// deltas) and its pageviews in chunks; the earlier fields then go.
func TestLeadStoredBeforeDeltasReplaysAndMigrates(t *testing.T) {
	f := newFixture(t, testStageConfig())
	var batches [][]*kgo.Record
	var orig []*outputs
	for b := range 4 {
		recs := []*kgo.Record{f.rec(pv("e"+itoa(b), "s1", time.Duration(b)*20*time.Second, 5, "https://acme.io/"+itoa(b)))}
		batches = append(batches, recs)
		orig = append(orig, f.run(nil, recs...))
	}
	ctx := context.Background()
	key := f.s.store.redisKey(lead1)
	fields, err := f.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite every head as the previous format stored it.
	l := decodeLoaded(fields, func(*leadState) bool { return true })
	if l.err != nil || len(l.pres) != 3 {
		t.Fatalf("stored lead: %v, %d pre-images; want 3", l.err, len(l.pres))
	}
	// ... every pageview in a field of its own, and every session's facts.
	for _, h := range append([]*leadState{l.cur}, l.pres...) {
		v1 := rewriteRingV1(t, h)
		if err := f.rdb.HSet(ctx, key, headField(h.gen), v1).Err(); err != nil {
			t.Fatal(err)
		}
		for _, ss := range h.sessions {
			if err := f.rdb.HSet(ctx, key, metaField(ss.seq), leadstore.AppendMeta(nil, &ss.meta.SessionMeta)).Err(); err != nil {
				t.Fatal(err)
			}
			first := ss.pvTotal - uint64(len(ss.pvs))
			for i, p := range ss.pvs {
				if err := f.rdb.HSet(ctx, key, pageviewField(ss.seq, first+uint64(i)), leadstore.AppendPageview(nil, p)).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for name := range fields {
		if name[0] == 'q' || name == headsField {
			if err := f.rdb.HDel(ctx, key, name).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A new process replays the last three batches from the old heads
	// exactly, then applies a new one.
	s2 := f.newStage()
	var all []*kgo.Record
	for _, b := range batches[1:] {
		all = append(all, b...)
	}
	var want []*kgo.Record
	for _, o := range orig[1:] {
		want = append(want, o.recs...)
	}
	sameOutputs(t, "replay from previous-format heads", f.run(s2, all...).recs, want)
	f.run(s2, f.rec(pv("e9", "s1", 2*time.Minute, 5, "https://acme.io/9")))
	fields, err = f.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The heads are in one field now: the current one whole, the three
	// before it deltas. The fields they were in go with the next write.
	parts, err := splitHeads([]byte(fields[headsField]))
	if err != nil || len(parts) != replayHeads {
		t.Fatalf("after the write: heads field %d parts, %v; want %d", len(parts), err, replayHeads)
	}
	for i, p := range parts {
		if (p[0] == headDelta) != (i > 0) {
			t.Fatalf("head %d of the field starts with %d", i, p[0])
		}
	}
	if l := decodeLoaded(fields, func(*leadState) bool { return true }); l.err != nil || len(l.pres) != 3 || l.cur.stats.Pageviews != 5 {
		t.Fatalf("migrated lead: %v, %d pre-images", l.err, len(l.pres))
	}
	// The write stored the pageviews in a chunk; the fields of their own
	// go once no head from before refers to them (three more writes).
	if fields[leadstore.ChunkField(1, 0)] == "" {
		t.Fatalf("after the write: no chunk field; fields %v", slices.Sorted(maps.Keys(fields)))
	}
	for i := 10; i < 13; i++ {
		f.run(s2, f.rec(pv("e"+itoa(i), "s1", time.Duration(i)*time.Minute, 5, "https://acme.io/"+itoa(i))))
	}
	names, err := f.rdb.HKeys(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if got, want := strings.Join(names, " "), "h q1.0 s1"; got != want {
		t.Fatalf("fields after four writes = %s, want %s", got, want)
	}
	o := f.run(f.newStage(), f.rec(pv("e20", "s1", 20*time.Minute, 5, "https://acme.io/20")))
	ch := o.changes(t)
	if len(ch) != 1 || len(ch[0].Lead.RecentSessions[0].Pageviews) != 9 || ch[0].Lead.RecentSessions[0].Pageviews[8].URL != "https://acme.io/20" {
		t.Fatalf("change after a fresh read of the migrated lead: %+v", ch)
	}
}

// rewriteRingV1 re-encodes a head as the previous format did: its
// version byte, and each ring offset against lastOffset, unsigned.
func rewriteRingV1(t *testing.T, st *leadState) []byte {
	t.Helper()
	noRing := *st
	noRing.ring = nil
	prefix := appendHead(nil, &noRing)
	out := append([]byte{leadstore.FormatV1}, prefix[1:len(prefix)-1]...) // without the ring count 0
	out = binary.AppendUvarint(out, uint64(len(st.ring)))
	for _, e := range st.ring {
		out = binary.LittleEndian.AppendUint64(out, e.hash)
		out = binary.AppendUvarint(out, uint64(st.lastOffset-e.offset))
		out = binary.AppendUvarint(out, e.seq)
		flags := e.kind
		if e.emitted {
			flags |= 4
		}
		out = append(out, flags)
	}
	got, err := decodeHead(out)
	if err != nil || !slices.Equal(got.ring, st.ring) {
		t.Fatalf("previous-format head does not decode: %v", err)
	}
	return out
}

func FuzzHeadDelta(f *testing.F) {
	base := appendHead(nil, nextHead(ringState()))
	f.Add(base, appendHead(nil, ringState()), []byte{headDelta, 1, 3, 7, 0})
	f.Add([]byte{}, []byte{1, 2, 3}, []byte{headDelta, 0, 0})
	f.Fuzz(func(t *testing.T, base, target, junk []byte) {
		d := appendDelta(nil, base, target, 9)
		got, err := applyDelta(base, d)
		if err != nil || !bytes.Equal(got, target) {
			t.Fatalf("round trip: %v\n got  %x\n want %x", err, got, target)
		}
		_, _ = applyDelta(base, junk) // must not panic or allocate without bound
	})
}

func BenchmarkHeadDelta(b *testing.B) {
	old := ringState()
	base, target := appendHead(nil, nextHead(old)), appendHead(nil, old)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(target)))
	for b.Loop() {
		dst = appendDelta(dst[:0], base, target, old.gen)
	}
}
