package leadstore

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/klauspost/compress/s2"
)

// PageviewChunk is how many consecutive pageviews of a session one field
// holds: pageviews c*PageviewChunk .. c*PageviewChunk+PageviewChunk-1 of
// session seq are in ChunkField(seq, c). It is part of the stored format:
// never change it.
//
// One field per pageview cost a lead hash about 58 bytes of Redis's own
// per field on top of the pageview's bytes, and each stored the whole URL;
// a chunk shares the field and stores each URL as the part that differs
// from the chunk's previous one. The chunk a session's newest pageview is
// in is rewritten (whole) while it fills; the others never change.
const PageviewChunk = 8

// ChunkField names the field of chunk c of the lead's session seq:
// "q<seq>.<c>".
func ChunkField(seq, c uint64) string {
	var buf [48]byte
	b := append(buf[:0], 'q')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '.')
	return string(strconv.AppendUint(b, c, 10))
}

// ChunkWithFacts is the first byte of a session's chunk 0 that holds the
// session's facts (AppendMeta) before its entries, instead of a field of
// their own (MetaField), which cost a lead's hash about 70 bytes of
// Redis's per-field overhead per session. Sessions a leads stage from
// before 2026-12-04 stored have their facts in MetaField and chunks that
// start with FormatV1; both are read. A chunk 0 with facts is kept as long
// as its session, even once its pageviews are no longer kept, and a
// session without pageviews has one with facts only.
const ChunkWithFacts = 2

// AppendChunkStart starts a chunk: FormatV1, or for a session's chunk 0
// with facts (not nil), ChunkWithFacts and the facts.
func AppendChunkStart(dst []byte, facts *SessionMeta) []byte {
	if facts == nil {
		return append(dst, FormatV1)
	}
	dst = append(dst, ChunkWithFacts)
	return AppendMeta(dst, facts)
}

// A chunk is FormatV1 (or ChunkWithFacts and the session's facts), then
// one entry per pageview from the chunk's first on, in order:
//
//	0                                   the pageview is not stored (skipped)
//	uvarint shared+1  str suffix        URL: prev.URL[:shared] + suffix
//	host              as AppendPageview (position in the URL, or the string)
//	path              as AppendPageview
//	varint at         VisitedAt - prev.VisitedAt (prev: the previous entry
//	                  that is not skipped; none: VisitedAt itself)
//
// A pageview is skipped when it slid out of the session's kept pageviews
// before it was ever written (more than max_pageviews in one batch), or
// when a lead stored one field per pageview is rewritten in chunks and the
// chunk starts before the kept ones; no head refers to a skipped pageview.

// AppendChunkSkip appends a skipped entry.
func AppendChunkSkip(dst []byte) []byte { return append(dst, 0) }

// AppendChunkEntry appends pv's entry to a chunk whose previous stored
// entry is prev (nil: none). A chunk starts with FormatV1.
func AppendChunkEntry(dst []byte, prev, pv *Pageview) []byte {
	shared := 0
	at := pv.VisitedAt
	if prev != nil {
		a, b := prev.URL, pv.URL
		for shared < len(a) && shared < len(b) && a[shared] == b[shared] {
			shared++
		}
		at -= prev.VisitedAt
	}
	dst = binary.AppendUvarint(dst, uint64(shared)+1)
	dst = AppendStr(dst, pv.URL[shared:])
	dst = appendHostPath(dst, pv)
	return binary.AppendVarint(dst, at)
}

// appendHostPath appends the host and the path of pv: positions in its
// URL when they are parts of it, else the strings.
func appendHostPath(dst []byte, pv *Pageview) []byte {
	if i := strings.Index(pv.URL, pv.Host); pv.Host != "" && i >= 0 {
		dst = binary.AppendUvarint(dst, uint64(i)+1)
		dst = binary.AppendUvarint(dst, uint64(len(pv.Host)))
	} else {
		dst = append(dst, 0)
		dst = AppendStr(dst, pv.Host)
	}
	if pv.Path != "" && strings.HasSuffix(pv.URL, pv.Path) {
		dst = append(dst, 1)
		return binary.AppendUvarint(dst, uint64(len(pv.Path)))
	}
	dst = append(dst, 0)
	return AppendStr(dst, pv.Path)
}

// decodeHostPath reads what appendHostPath wrote into pv, whose URL is set.
func decodeHostPath(d *Decoder, pv *Pageview) error {
	if at := d.Uvarint(); at > 0 {
		n := d.Uvarint()
		if at-1 > uint64(len(pv.URL)) || n > uint64(len(pv.URL))-(at-1) {
			return ErrCorrupt
		}
		pv.Host = pv.URL[at-1 : at-1+n]
	} else {
		pv.Host = d.Str()
	}
	if d.Byte() == 1 {
		n := d.Uvarint()
		if n > uint64(len(pv.URL)) {
			return ErrCorrupt
		}
		pv.Path = pv.URL[uint64(len(pv.URL))-n:]
	} else {
		pv.Path = d.Str()
	}
	return d.Err()
}

// ChunkSnappy is the first byte of a chunk stored compressed: the rest is
// a Snappy block of the chunk (which starts with FormatV1 or
// ChunkWithFacts). A chunk repeats much of itself that the URL deltas do
// not catch (query strings, paths, the facts' strings): in the default
// bench Snappy takes it from 301 to 242 bytes on average, and to a smaller
// allocator size class in Redis. Chunks stored before 2026-12-04 are
// plain, and still read.
const ChunkSnappy = 3

// maxChunkBytes bounds what a stored compressed chunk may decode to, so
// that a corrupt value cannot ask for a huge buffer.
const maxChunkBytes = 4 << 20

// AppendStoredChunk appends the stored form of chunk: compressed
// (ChunkSnappy) when that is smaller, else chunk as it is.
func AppendStoredChunk(dst, chunk []byte) []byte {
	at := len(dst)
	need := 1 + s2.MaxEncodedLen(len(chunk))
	dst = slices.Grow(dst, need)[:at+need]
	enc := s2.EncodeSnappy(dst[at+1:], chunk)
	if 1+len(enc) >= len(chunk) {
		return append(dst[:at], chunk...)
	}
	dst[at] = ChunkSnappy
	return dst[:at+1+len(enc)]
}

// ChunkBytes returns the chunk a stored chunk value holds: raw itself,
// or decompressed (ChunkSnappy).
func ChunkBytes(raw string) (string, error) {
	if len(raw) == 0 || raw[0] != ChunkSnappy {
		return raw, nil
	}
	src := unsafe.Slice(unsafe.StringData(raw[1:]), len(raw)-1) // only read
	n, err := s2.DecodedLen(src)
	if err != nil || n > maxChunkBytes {
		return "", ErrCorrupt
	}
	b, err := s2.Decode(make([]byte, n), src)
	if err != nil || len(b) == 0 || b[0] == ChunkSnappy {
		return "", ErrCorrupt
	}
	return unsafe.String(&b[0], len(b)), nil // b is ours and never written again
}

// DecodeChunk decodes a stored chunk's entries (ChunkBytes), in order:
// nil for a skipped one. last is the last entry that is not skipped (nil: none), the prev
// of the chunk's next entry; facts are the session's facts of a chunk
// that starts with them (ChunkWithFacts), else nil.
//
// The strings decoded are parts of raw (or of its decompressed bytes) and
// the pageviews share one allocation of exactly the chunk's stored
// entries (most chunks hold fewer than PageviewChunk): a chunk costs a
// few allocations, not three per pageview, which the garbage collector of
// a process caching many leads has to trace.
func DecodeChunk(raw string) (pvs []*Pageview, last *Pageview, facts *SessionMeta, err error) {
	raw, err = ChunkBytes(raw)
	if err != nil {
		return nil, nil, nil, err
	}
	d := NewStringDecoder(raw)
	switch d.Byte() {
	case FormatV1:
	case ChunkWithFacts:
		facts = new(SessionMeta)
		if err := decodeMeta(&d, facts); err != nil {
			return nil, nil, nil, err
		}
	default:
		return nil, nil, nil, ErrCorrupt
	}
	// The entries are decoded here, then copied into one allocation of
	// the size they need.
	var decoded [PageviewChunk]Pageview
	var stored [PageviewChunk]bool
	entries, kept := 0, 0
	var prev *Pageview
	for len(d.Rest()) > 0 && d.Err() == nil {
		if entries == PageviewChunk {
			return nil, nil, nil, ErrCorrupt
		}
		tag := d.Uvarint()
		if tag == 0 {
			entries++
			continue
		}
		shared := tag - 1
		var prefix string
		var at int64
		if prev != nil {
			if shared > uint64(len(prev.URL)) {
				return nil, nil, nil, ErrCorrupt
			}
			prefix, at = prev.URL[:shared], prev.VisitedAt
		} else if shared != 0 {
			return nil, nil, nil, ErrCorrupt
		}
		pv := &decoded[entries]
		pv.URL = prefix + d.Str() // the part of raw itself when nothing is shared
		if err := decodeHostPath(&d, pv); err != nil {
			return nil, nil, nil, err
		}
		pv.VisitedAt = at + d.Varint()
		stored[entries] = true
		entries++
		kept++
		prev = pv
	}
	if err := d.Done(); err != nil {
		return nil, nil, nil, err
	}
	if entries == 0 {
		return []*Pageview{}, nil, facts, nil
	}
	block := make([]Pageview, 0, kept)
	pvs = make([]*Pageview, entries)
	for i := range entries {
		if stored[i] {
			block = append(block, decoded[i])
			last = &block[len(block)-1]
			pvs[i] = last
		}
	}
	return pvs, last, facts, nil
}
