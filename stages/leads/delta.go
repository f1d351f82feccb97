package leads

import (
	"encoding/binary"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// A lead keeps its current head and the three before it (replay.go). The
// older heads differ from the newer one in a few numbers, the session the
// batch changed and the dedup ring's newest entries, so they are stored
// as deltas: the previous head is rewritten, with each write of a new
// head, as the edit that turns the new head's bytes back into its own
// (appendDelta). Reading follows the chain from the current head, which
// is always whole, down to the oldest (applyDelta). A delta field is
//
//	headDelta  uvarint gen  uvarint len(target)  ops...
//
// and each op is a uvarint n<<1|copy: copy n bytes of the base from the
// uvarint offset that follows, or insert the n literal bytes that follow.
// The encoding is exact: the delta rebuilds the target's bytes, whatever
// format version they are in, so a head stored before deltas existed
// (leadstore.FormatV1) reads back the same.

// headDelta is the first byte of a head stored as a delta against the
// head one generation newer (headFormat is a whole head).
const headDelta = 3

// deltaMinMatch is the shortest copy worth an op (an op and its offset
// take 2-4 bytes).
const deltaMinMatch = 4

// deltaTableBits sizes the match finder's table: 2^bits slots of the
// last base position of a 4-byte gram. Heads are a few hundred bytes.
const deltaTableBits = 9

// deltaStride is the distance between the base positions the table
// holds. A common run of at least deltaMinMatch+deltaStride-1 bytes
// holds one of them among its first deltaStride positions, so it is
// found there and extended back to where it starts; building the table
// was most of a delta's cost with every position in it.
const deltaStride = 4

// appendDelta appends to dst the delta field of target (a head of
// generation gen) against base (the head of generation gen+1).
func appendDelta(dst, base, target []byte, gen uint64) []byte {
	dst = append(dst, headDelta)
	dst = binary.AppendUvarint(dst, gen)
	dst = binary.AppendUvarint(dst, uint64(len(target)))
	// table holds 1 + the last base position of each gram's hash.
	var table [1 << deltaTableBits]int32
	for i := 0; i+deltaMinMatch <= len(base); i += deltaStride {
		table[gramHash(base[i:])] = int32(i + 1)
	}
	lit := 0 // target[lit:i] is not emitted yet
	next := 0
	for i := 0; i+deltaMinMatch <= len(target); {
		// Prefer extending the copy that just ended (base is mostly
		// target shifted), then the table's candidate.
		best, bestLen := -1, 0
		if next+deltaMinMatch <= len(base) {
			if n := matchLen(base[next:], target[i:]); n >= deltaMinMatch {
				best, bestLen = next, n
			}
		}
		if p := int(table[gramHash(target[i:])]) - 1; p >= 0 && p != best {
			if n := matchLen(base[p:], target[i:]); n > bestLen && n >= deltaMinMatch {
				best, bestLen = p, n
			}
		}
		if best < 0 {
			i++
			continue
		}
		for i > lit && best > 0 && target[i-1] == base[best-1] {
			i, best, bestLen = i-1, best-1, bestLen+1
		}
		dst = appendLiteral(dst, target[lit:i])
		dst = binary.AppendUvarint(dst, uint64(bestLen)<<1|1)
		dst = binary.AppendUvarint(dst, uint64(best))
		i += bestLen
		lit, next = i, best+bestLen
	}
	return appendLiteral(dst, target[lit:])
}

func appendLiteral(dst, lit []byte) []byte {
	if len(lit) == 0 {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(len(lit))<<1)
	return append(dst, lit...)
}

func gramHash(b []byte) uint32 {
	return (binary.LittleEndian.Uint32(b) * 2654435761) >> (32 - deltaTableBits)
}

func matchLen(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// deltaGen returns the generation of a delta field.
func deltaGen(delta []byte) (uint64, error) {
	d := leadstore.NewDecoder(delta)
	if d.Byte() != headDelta {
		return 0, errCorrupt
	}
	gen := d.Uvarint()
	return gen, d.Err()
}

// applyDelta rebuilds the head a delta field encodes from base, the
// bytes of the head one generation newer.
func applyDelta(base, delta []byte) ([]byte, error) {
	d := leadstore.NewDecoder(delta)
	if d.Byte() != headDelta {
		return nil, errCorrupt
	}
	d.Uvarint() // gen
	size := d.Uvarint()
	if d.Err() != nil || size > uint64(len(delta))*uint64(len(base)+1) { // each op takes >= 1 byte
		return nil, errCorrupt
	}
	out := make([]byte, 0, size)
	rest := d.Rest()
	for len(rest) > 0 {
		op, k := binary.Uvarint(rest)
		if k <= 0 {
			return nil, errCorrupt
		}
		rest = rest[k:]
		n := op >> 1
		if op&1 == 0 { // literal
			if n > uint64(len(rest)) {
				return nil, errCorrupt
			}
			out = append(out, rest[:n]...)
			rest = rest[n:]
		} else {
			off, k := binary.Uvarint(rest)
			if k <= 0 || off > uint64(len(base)) || n > uint64(len(base))-off {
				return nil, errCorrupt
			}
			rest = rest[k:]
			out = append(out, base[off:off+n]...)
		}
		if uint64(len(out)) > size {
			return nil, errCorrupt
		}
	}
	if uint64(len(out)) != size {
		return nil, errCorrupt
	}
	return out, nil
}
