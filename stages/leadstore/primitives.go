package leadstore

import (
	"encoding/binary"
	"math"
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
}

// NewDecoder returns a Decoder reading b.
func NewDecoder(b []byte) Decoder { return Decoder{b: b} }

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
func (d *Decoder) Str() string {
	n := d.Uvarint()
	if n > uint64(len(d.b)) {
		d.Fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// NullStr reads a nullable string (AppendNullStr).
func (d *Decoder) NullStr() *string {
	n := d.Uvarint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.b)) {
		d.Fail()
		return nil
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return &s
}

// NullFloat reads a nullable float (AppendNullFloat).
func (d *Decoder) NullFloat() *float64 {
	if d.Byte() == 0 {
		return nil
	}
	v := math.Float64frombits(d.U64())
	return &v
}
