package leads

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"
)

// The state of a lead is a Redis hash (see store.go) of compact binary
// fields, each starting with a format version byte:
//
//	h0 .. h3   the head: ids, times, counters, position, sessions with
//	           their pageviews' time_spent, the dedup ring. Generation
//	           gen is written to h<gen mod 4>: the head with the highest
//	           gen is current, the others are the previous three heads
//	           (the pre-images replays start from, see replay.go).
//	s<seq>     a session's facts from its first hit (immutable).
//	p<seq>.<n> the session's n-th pageview (immutable).
//
// Numbers are varints, strings a uvarint length and bytes, nullable
// strings a uvarint length+1 (0 = null).
const formatV1 = 1

// errCorrupt is returned for a stored state that does not decode.
var errCorrupt = errors.New("stored lead state does not decode")

// replayHeads is how many heads a lead keeps: the current one and the
// three before it. It is part of the stored format: never change it.
const replayHeads = 4

var headFields = [replayHeads]string{"h0", "h1", "h2", "h3"}

// headField names the head field of generation gen.
func headField(gen uint64) string { return headFields[gen%replayHeads] }

func metaField(seq uint64) string {
	return "s" + strconv.FormatUint(seq, 10)
}

func appendPageviewField(dst []byte, seq, n uint64) []byte {
	dst = append(dst, 'p')
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, n, 10)
}

func pageviewField(seq, n uint64) string {
	var buf [48]byte
	return string(appendPageviewField(buf[:0], seq, n))
}

// appendHead appends the head encoding of st.
func appendHead(dst []byte, st *leadState) []byte {
	dst = append(dst, formatV1)
	dst = binary.AppendUvarint(dst, uint64(st.id))
	dst = binary.AppendUvarint(dst, st.gen)
	dst = binary.AppendVarint(dst, st.firstSeen)
	dst = binary.AppendVarint(dst, st.lastSeen)
	dst = binary.AppendUvarint(dst, uint64(st.stats.Sessions))
	dst = binary.AppendUvarint(dst, uint64(st.stats.Pageviews))
	dst = binary.AppendUvarint(dst, uint64(st.stats.TotalDuration))
	dst = binary.AppendVarint(dst, int64(st.partition))
	dst = binary.AppendVarint(dst, st.lastOffset)
	dst = binary.AppendVarint(dst, st.maxRecTime)
	dst = binary.AppendUvarint(dst, st.nextSeq)
	dst = binary.AppendUvarint(dst, uint64(len(st.sessions)))
	for _, s := range st.sessions {
		dst = binary.AppendUvarint(dst, s.seq)
		dst = appendStr(dst, s.sessionID)
		dst = binary.AppendVarint(dst, s.started)
		dst = binary.AppendUvarint(dst, uint64(s.lastHit-s.started))
		dst = binary.AppendUvarint(dst, s.pvTotal)
		dst = binary.AppendUvarint(dst, uint64(len(s.spent)))
		for _, v := range s.spent {
			dst = binary.AppendUvarint(dst, uint64(v))
		}
		dst = binary.AppendUvarint(dst, uint64(s.orphan))
		dst = binary.AppendUvarint(dst, uint64(s.duration))
	}
	dst = binary.AppendUvarint(dst, uint64(len(st.ring)))
	for _, e := range st.ring {
		dst = binary.LittleEndian.AppendUint64(dst, e.hash)
		dst = binary.AppendUvarint(dst, uint64(st.lastOffset-e.offset))
		dst = binary.AppendUvarint(dst, e.seq)
		flags := e.kind
		if e.emitted {
			flags |= 4
		}
		dst = append(dst, flags)
	}
	return dst
}

// decodeHead decodes a head. Its sessions have no meta and nil pageview
// pointers yet (len(pvs) is the kept count): resolve fills them in.
func decodeHead(b []byte) (*leadState, error) {
	d := decoder{b: b}
	if d.byte() != formatV1 {
		return nil, errCorrupt
	}
	st := &leadState{}
	st.id = int64(d.uvarint())
	st.gen = d.uvarint()
	st.firstSeen = d.varint()
	st.lastSeen = d.varint()
	st.stats.Sessions = int64(d.uvarint())
	st.stats.Pageviews = int64(d.uvarint())
	st.stats.TotalDuration = int64(d.uvarint())
	st.partition = int32(d.varint())
	st.lastOffset = d.varint()
	st.maxRecTime = d.varint()
	st.nextSeq = d.uvarint()
	n := d.count(8)
	st.sessions = make([]*session, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		s := &session{metaWritten: true}
		s.seq = d.uvarint()
		s.sessionID = d.str()
		s.started = d.varint()
		s.lastHit = s.started + int64(d.uvarint())
		s.pvTotal = d.uvarint()
		s.pvWritten = s.pvTotal
		k := d.count(1)
		s.pvs = make([]*pageview, k)
		s.spent = make([]int64, k)
		for j := range s.spent {
			s.spent[j] = int64(d.uvarint())
		}
		s.orphan = int64(d.uvarint())
		s.duration = int64(d.uvarint())
		if uint64(k) > s.pvTotal {
			d.err = errCorrupt
		}
		st.sessions = append(st.sessions, s)
	}
	n = d.count(11)
	st.ring = make([]ringEntry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		e := ringEntry{hash: d.u64()}
		e.offset = st.lastOffset - int64(d.uvarint())
		e.seq = d.uvarint()
		flags := d.byte()
		e.kind, e.emitted = flags&3, flags&4 != 0
		st.ring = append(st.ring, e)
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return st, nil
}

// resolve fills in the sessions' meta and pageviews of a decoded head
// from the lead's hash fields. memo shares the immutable values between
// the current head and the pre-image.
func resolve(st *leadState, fields map[string]string, memo map[string]any) error {
	for _, s := range st.sessions {
		f := metaField(s.seq)
		if v, ok := memo[f]; ok {
			s.meta = v.(*sessionMeta)
		} else {
			raw, ok := fields[f]
			if !ok {
				return errCorrupt
			}
			m, err := decodeMeta(raw)
			if err != nil {
				return err
			}
			memo[f], s.meta = m, m
		}
		first := s.pvTotal - uint64(len(s.pvs))
		for i := range s.pvs {
			f := pageviewField(s.seq, first+uint64(i))
			if v, ok := memo[f]; ok {
				s.pvs[i] = v.(*pageview)
				continue
			}
			raw, ok := fields[f]
			if !ok {
				return errCorrupt
			}
			pv, err := decodePageview(raw)
			if err != nil {
				return err
			}
			memo[f], s.pvs[i] = pv, pv
		}
	}
	return nil
}

// appendMeta appends the encoding of a session's facts.
func appendMeta(dst []byte, m *sessionMeta) []byte {
	dst = append(dst, formatV1)
	dst = appendNullStr(dst, m.source)
	dst = appendNullStr(dst, m.browser)
	dst = appendNullStr(dst, m.device)
	dst = appendNullStr(dst, m.os)
	dst = appendNullStr(dst, m.loc.City)
	dst = appendNullStr(dst, m.loc.CountryCode)
	dst = appendNullStr(dst, m.loc.Region)
	dst = appendNullFloat(dst, m.loc.Latitude)
	dst = appendNullFloat(dst, m.loc.Longitude)
	dst = appendStr(dst, m.utm.UTMSource)
	dst = appendStr(dst, m.utm.UTMMedium)
	dst = appendStr(dst, m.utm.UTMCampaign)
	dst = appendStr(dst, m.utm.UTMTerm)
	return appendStr(dst, m.utm.UTMContent)
}

func decodeMeta(raw string) (*sessionMeta, error) {
	d := decoder{b: []byte(raw)}
	if d.byte() != formatV1 {
		return nil, errCorrupt
	}
	m := &sessionMeta{}
	m.source = d.nullStr()
	m.browser = d.nullStr()
	m.device = d.nullStr()
	m.os = d.nullStr()
	m.loc.City = d.nullStr()
	m.loc.CountryCode = d.nullStr()
	m.loc.Region = d.nullStr()
	m.loc.Latitude = d.nullFloat()
	m.loc.Longitude = d.nullFloat()
	m.utm.UTMSource = d.str()
	m.utm.UTMMedium = d.str()
	m.utm.UTMCampaign = d.str()
	m.utm.UTMTerm = d.str()
	m.utm.UTMContent = d.str()
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return m, nil
}

// appendPageview appends the encoding of a pageview. The host and the
// path are usually parts of the URL and then stored as positions.
func appendPageview(dst []byte, pv *pageview) []byte {
	dst = append(dst, formatV1)
	dst = appendStr(dst, pv.url)
	if i := strings.Index(pv.url, pv.host); pv.host != "" && i >= 0 {
		dst = binary.AppendUvarint(dst, uint64(i)+1)
		dst = binary.AppendUvarint(dst, uint64(len(pv.host)))
	} else {
		dst = append(dst, 0)
		dst = appendStr(dst, pv.host)
	}
	if pv.path != "" && strings.HasSuffix(pv.url, pv.path) {
		dst = append(dst, 1)
		dst = binary.AppendUvarint(dst, uint64(len(pv.path)))
	} else {
		dst = append(dst, 0)
		dst = appendStr(dst, pv.path)
	}
	return binary.AppendVarint(dst, pv.visitedAt)
}

func decodePageview(raw string) (*pageview, error) {
	d := decoder{b: []byte(raw)}
	if d.byte() != formatV1 {
		return nil, errCorrupt
	}
	pv := &pageview{url: d.str()}
	if at := d.uvarint(); at > 0 {
		n := d.uvarint()
		if at-1 > uint64(len(pv.url)) || n > uint64(len(pv.url))-(at-1) {
			return nil, errCorrupt
		}
		pv.host = pv.url[at-1 : at-1+n]
	} else {
		pv.host = d.str()
	}
	if d.byte() == 1 {
		n := d.uvarint()
		if n > uint64(len(pv.url)) {
			return nil, errCorrupt
		}
		pv.path = pv.url[uint64(len(pv.url))-n:]
	} else {
		pv.path = d.str()
	}
	pv.visitedAt = d.varint()
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return pv, nil
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendNullStr(dst []byte, p *string) []byte {
	if p == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(*p))+1)
	return append(dst, *p...)
}

func appendNullFloat(dst []byte, p *float64) []byte {
	if p == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(*p))
}

// decoder reads the binary fields; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errCorrupt, nil }

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// count reads a length of items of at least minSize bytes each, failing
// if the input cannot hold that many (so a corrupt count allocates nothing).
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/minSize) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) nullStr() *string {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return &s
}

func (d *decoder) nullFloat() *float64 {
	if d.byte() == 0 {
		return nil
	}
	v := math.Float64frombits(d.u64())
	return &v
}
