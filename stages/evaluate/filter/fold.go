package filter

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the case-insensitive string comparisons of the string
// operators. They fold case as strings.EqualFold does (Unicode simple case
// folding, so "machinery" equals "Machinery" and "MÜNCHEN" equals "münchen")
// and never allocate: nothing is lower-cased at evaluation time. Constants are
// prepared once by newNeedle at compile time.
//
// Two non-ASCII runes fold to ASCII letters: U+212A KELVIN SIGN (k) and
// U+017F LATIN SMALL LETTER LONG S (s). The ASCII fast paths are exact
// except for those; a needle with k or s falls back to the rune-by-rune path
// when the subject may hold one of them where it matters.

// needle is a string constant prepared for case-insensitive search.
type needle struct {
	// s is the constant as written.
	s string
	// lower is s with ASCII letters lower-cased; used when ascii is set.
	lower string
	// mask has 0x20 where lower has an ASCII letter, else 0: a subject byte
	// b matches lower[i] iff b|mask[i] == lower[i].
	mask string
	// ascii is set when s is all ASCII.
	ascii bool
	// safe is set when s is ASCII and holds no k or s, so no non-ASCII rune
	// can fold to any of its bytes.
	safe bool
	// hasK and hasS are set when the ASCII s holds a k or an s.
	hasK, hasS bool
}

func newNeedle(s string) needle {
	n := needle{s: s, ascii: isASCII(s)}
	if !n.ascii {
		return n
	}
	lower := []byte(s)
	mask := make([]byte, len(s))
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			lower[i] = c
		}
		if 'a' <= c && c <= 'z' {
			mask[i] = 0x20
		}
		n.hasK = n.hasK || c == 'k'
		n.hasS = n.hasS || c == 's'
	}
	n.safe = !n.hasK && !n.hasS
	n.lower, n.mask = string(lower), string(mask)
	return n
}

// equal reports whether v equals the needle, ignoring case.
func (n *needle) equal(v string) bool { return strings.EqualFold(v, n.s) }

// prefixOf reports whether v starts with the needle, ignoring case.
func (n *needle) prefixOf(v string) bool {
	if n.ascii {
		// Compare byte by byte from the start: while v's bytes are ASCII
		// they align one to one with the needle's, so the first ASCII
		// mismatch decides. A non-ASCII byte decides too, unless the needle
		// has a k or s (that byte may start a KELVIN SIGN or LONG S).
		for i := 0; i < len(n.lower); i++ {
			if i >= len(v) {
				return false
			}
			c := v[i]
			if c >= utf8.RuneSelf {
				if n.safe {
					return false
				}
				break
			}
			if c|n.mask[i] != n.lower[i] {
				return false
			}
			if i == len(n.lower)-1 {
				return true
			}
		}
	}
	_, ok := prefixFold(v, n.s)
	return ok
}

// suffixOf reports whether v ends with the needle, ignoring case.
func (n *needle) suffixOf(v string) bool {
	if n.ascii {
		// As prefixOf, from the end.
		l := len(n.lower)
		for k := 1; k <= l; k++ {
			i := len(v) - k
			if i < 0 {
				return false
			}
			c := v[i]
			if c >= utf8.RuneSelf {
				if n.safe {
					return false
				}
				break
			}
			if c|n.mask[l-k] != n.lower[l-k] {
				return false
			}
			if k == l {
				return true
			}
		}
	}
	return suffixFold(v, n.s)
}

// containedIn reports whether v contains the needle, ignoring case.
func (n *needle) containedIn(v string) bool {
	if n.ascii {
		if n.indexASCII(v) {
			return true
		}
		// Without a KELVIN SIGN or LONG S in v, every match is byte for
		// byte on ASCII bytes, and indexASCII found none.
		if !n.mayFoldNonASCII(v) {
			return false
		}
	}
	for i := 0; i < len(v); {
		if _, ok := prefixFold(v[i:], n.s); ok {
			return true
		}
		_, size := utf8.DecodeRuneInString(v[i:])
		i += size
	}
	return n.s == ""
}

// The two non-ASCII runes that fold to ASCII letters.
const (
	kelvinSign = "\u212a" // folds to k
	longS      = "\u017f" // folds to s
)

// mayFoldNonASCII reports whether v holds a non-ASCII rune that folds to a
// letter of the ASCII needle.
func (n *needle) mayFoldNonASCII(v string) bool {
	return (n.hasK && strings.Contains(v, kelvinSign)) || (n.hasS && strings.Contains(v, longS))
}

// matchAt reports whether v[at:at+len(n.lower)] matches the ASCII needle.
// The caller checks the bounds.
func (n *needle) matchAt(v string, at int) bool {
	w := v[at : at+len(n.lower)]
	for i := 0; i < len(w); i++ {
		if w[i]|n.mask[i] != n.lower[i] {
			return false
		}
	}
	return true
}

// indexASCII reports whether some window of v matches the ASCII needle
// byte for byte (ignoring ASCII case).
func (n *needle) indexASCII(v string) bool {
	l := len(n.lower)
	if l == 0 {
		return true
	}
	c0, m0 := n.lower[0], n.mask[0]
	last := len(v) - l
	for i := 0; i <= last; i++ {
		if m0 == 0 {
			// The first byte has no case: jump to its next occurrence.
			j := strings.IndexByte(v[i:last+1], c0)
			if j < 0 {
				return false
			}
			i += j
		} else if v[i]|m0 != c0 {
			continue
		}
		if n.matchAt(v, i) {
			return true
		}
	}
	return false
}

// foldEq reports whether runes a and b are equal under simple case folding.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// prefixFold reports whether s starts with p under case folding, and how
// many bytes of s the prefix spans.
func prefixFold(s, p string) (int, bool) {
	i, j := 0, 0
	for j < len(p) {
		if i >= len(s) {
			return 0, false
		}
		a, sa := rune(s[i]), 1
		if a >= utf8.RuneSelf {
			a, sa = utf8.DecodeRuneInString(s[i:])
		}
		b, sb := rune(p[j]), 1
		if b >= utf8.RuneSelf {
			b, sb = utf8.DecodeRuneInString(p[j:])
		}
		if !foldEq(a, b) {
			return 0, false
		}
		i, j = i+sa, j+sb
	}
	return i, true
}

// suffixFold reports whether s ends with p under case folding.
func suffixFold(s, p string) bool {
	i, j := len(s), len(p)
	for j > 0 {
		if i <= 0 {
			return false
		}
		a, sa := utf8.DecodeLastRuneInString(s[:i])
		b, sb := utf8.DecodeLastRuneInString(p[:j])
		if !foldEq(a, b) {
			return false
		}
		i, j = i-sa, j-sb
	}
	return true
}

// canonRune maps r to the smallest rune of its case-folding orbit, so that
// canonRune(a) == canonRune(b) exactly when foldEq(a, b).
func canonRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

// FNV-1a 64-bit parameters.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// foldHash hashes s so that strings equal under strings.EqualFold hash the
// same. It does not allocate.
func foldHash(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			h = (h ^ uint64(c)) * fnvPrime
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		h = (h ^ uint64(canonRune(r))) * fnvPrime
		i += size
	}
	return h
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
