package leadstore

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// AppendStr appends a string: its uvarint length and its bytes.
func AppendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendNullStr appends a nullable string: its uvarint length+1 and its
// bytes, or 0 for nil.
func AppendNullStr(dst []byte, p *string) []byte {
	if p == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(*p))+1)
	return append(dst, *p...)
}

// AppendNullFloat appends a nullable float: 0 for nil, else 1 and its
// 8 little-endian bytes.
func AppendNullFloat(dst []byte, p *float64) []byte {
	if p == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(*p))
}

// Decoder reads the binary fields written with this package's Append
// functions and encoding/binary. The first error (ErrCorrupt) sticks and
// later reads return zero values. Its zero value reads nothing.
type Decoder struct {
	b   []byte
	err error
	// shared says b is an immutable string's memory: the strings read
	// are parts of it, not copies.
	shared bool
}

// NewDecoder returns a Decoder reading b. The strings it reads are
// copies: b may change afterwards.
func NewDecoder(b []byte) Decoder { return Decoder{b: b} }

// NewStringDecoder returns a Decoder reading s whose strings are parts of
// s, not copies: one allocation holds them all (each keeps all of s
// alive). Decoding a stored chunk so makes a few allocations instead of
// one per string.
func NewStringDecoder(s string) Decoder {
	return Decoder{b: unsafe.Slice(unsafe.StringData(s), len(s)), shared: true}
}

// Err is the first error met (ErrCorrupt), or nil.
func (d *Decoder) Err() error { return d.err }

// Done returns ErrCorrupt if a read failed or input is left over.
func (d *Decoder) Done() error {
	if d.err != nil || len(d.b) != 0 {
		return ErrCorrupt
	}
	return nil
}

// Fail marks the input corrupt: Err is ErrCorrupt and later reads return
// zero values.
func (d *Decoder) Fail() { d.err, d.b = ErrCorrupt, nil }

// Rest returns the input not read yet.
func (d *Decoder) Rest() []byte { return d.b }

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if len(d.b) == 0 {
		d.Fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.Fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.Fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// U64 reads 8 little-endian bytes.
func (d *Decoder) U64() uint64 {
	if len(d.b) < 8 {
		d.Fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// Count reads a length of items of at least minSize bytes each, failing
// if the input cannot hold that many (so a corrupt count allocates nothing).
func (d *Decoder) Count(minSize int) int {
	n := d.Uvarint()
	if n > uint64(len(d.b)/minSize) {
		d.Fail()
		return 0
	}
	return int(n)
}

// Str reads a string (AppendStr).
func (d *Decoder) Str() string { return d.bytes(d.Uvarint()) }

// bytes reads n bytes as a string: a part of the input when it is shared.
func (d *Decoder) bytes(n uint64) string {
	if n > uint64(len(d.b)) {
		d.Fail()
		return ""
	}
	var s string
	switch {
	case n == 0:
	case d.shared:
		s = unsafe.String(&d.b[0], n)
	default:
		s = string(d.b[:n])
	}
	d.b = d.b[n:]
	return s
}

// nullStr reads a nullable string (AppendNullStr); ok is false for nil
// (decodeMeta keeps the values it points to in one block).
func (d *Decoder) nullStr() (s string, ok bool) {
	n := d.Uvarint()
	if n == 0 || d.err != nil {
		return "", false
	}
	s = d.bytes(n - 1)
	return s, d.err == nil
}

// nullFloat reads a nullable float (AppendNullFloat); ok is false for nil.
func (d *Decoder) nullFloat() (float64, bool) {
	if d.Byte() == 0 {
		return 0, false
	}
	v := math.Float64frombits(d.U64())
	return v, d.err == nil
}
