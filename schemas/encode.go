package schemas

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// This file holds the append-style JSON primitives every hand-written encoder
// in the package uses. They produce compact JSON: no HTML escaping, no `\/`
// escaping, non-ASCII as raw UTF-8 (see the package doc for why).

const hexDigits = "0123456789abcdef"

// safeASCII reports whether the ASCII byte b can be copied into a JSON
// string as it is.
func safeASCII(b byte) bool { return b >= 0x20 && b != '"' && b != '\\' }

// AppendString appends s as a quoted JSON string exactly as every encoder
// of this package writes strings (no HTML escaping). Other encoders of
// leadflow's wire formats use it so that their bytes agree.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD, and U+2028/U+2029 are escaped (as encoding/json does) so the output
// is also safe to embed in JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if safeASCII(b) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendNullString appends *p as a JSON string, or null when p is nil.
func appendNullString(dst []byte, p *string) []byte {
	if p == nil {
		return append(dst, "null"...)
	}
	return appendString(dst, *p)
}

// appendFloat appends f the way encoding/json formats a float64 (shortest
// representation, exponent only below 1e-6 or from 1e21). NaN and infinities
// have no JSON form and are written as null (an unknown value).
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Turn e-09 into e-9, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendNullFloat appends *p as a JSON number, or null when p is nil.
func appendNullFloat(dst []byte, p *float64) []byte {
	if p == nil {
		return append(dst, "null"...)
	}
	return appendFloat(dst, *p)
}
