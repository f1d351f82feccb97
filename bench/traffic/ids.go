package traffic

import (
	"bytes"
	"strconv"
)

// This file formats and parses the ids of generated traffic. Every id is
// plain ASCII (letters, digits, '_' and '-').

const hexDigits = "0123456789abcdef"

// appendHex appends v in lower-case hex without leading zeros.
func appendHex(dst []byte, v uint64) []byte { return strconv.AppendUint(dst, v, 16) }

// appendHexN appends the low n hex digits of v, zero-padded.
func appendHexN(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(4*uint(i)))&0xf])
	}
	return dst
}

// idPrefix returns kind + "_" + runID + "_" ("s_abc_"), or kind + "_"
// without a run id.
func idPrefix(kind, runID string) string {
	if runID == "" {
		return kind + "_"
	}
	return kind + "_" + runID + "_"
}

// appendUUID appends a UUID-shaped event id (version 4 layout) built from
// the run's hash and the event's sequence number: unique within a run, and
// across runs with different seeds or run ids.
func appendUUID(dst []byte, runHash, seq uint64) []byte {
	hi := runHash&^0xf000 | 0x4000
	lo := seq&0x3fff_ffff_ffff_ffff | 0x8000_0000_0000_0000
	dst = appendHexN(dst, hi>>32, 8)
	dst = append(dst, '-')
	dst = appendHexN(dst, hi>>16, 4)
	dst = append(dst, '-')
	dst = appendHexN(dst, hi, 4)
	dst = append(dst, '-')
	dst = appendHexN(dst, lo>>48, 4)
	dst = append(dst, '-')
	return appendHexN(dst, lo, 12)
}

// MarkerParam is the query parameter that carries a session's id in its
// pageview URLs when Config.Marker is set.
const MarkerParam = "lf_sid"

// ParseMarker returns the first session id marker in b (any bytes: a URL, a
// webhook subject's JSON), or nil. The id ends at '&', '#', '"' or the end.
func ParseMarker(b []byte) []byte {
	i := bytes.Index(b, []byte(MarkerParam+"="))
	if i < 0 {
		return nil
	}
	b = b[i+len(MarkerParam)+1:]
	end := bytes.IndexAny(b, "&#\"\\ ")
	if end < 0 {
		end = len(b)
	}
	return b[:end]
}

// parseSessionSeq returns the sequence number of a session id with prefix.
func parseSessionSeq(id []byte, prefix string) (uint64, bool) {
	if !bytes.HasPrefix(id, []byte(prefix)) || len(id) == len(prefix) || len(id) > len(prefix)+16 {
		return 0, false
	}
	var v uint64
	for _, c := range id[len(prefix):] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// mix64 is the splitmix64 finalizer, used to derive the run hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// runHash derives the event-id hash of a run from its seed and run id.
func runHash(seed int64, runID string) uint64 {
	h := mix64(uint64(seed) ^ 0x6c65_6164_666c_6f77)
	for i := 0; i < len(runID); i++ {
		h = mix64(h ^ uint64(runID[i]))
	}
	return h
}
