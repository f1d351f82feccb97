package filter

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// A prefilter is a cheap necessary condition of a regexp, as RE2 builds
// them: the literal strings every match must contain, combined with AND and
// OR. Go's regexp has a fast path only for a literal prefix; an unanchored
// pattern such as `[?&]gclid=` otherwise costs microseconds on a long URL.
// Checking the literals first (a vectorised substring search) rejects most
// values without running the regexp. When the prefilter is the whole regexp
// (a literal or an alternation of literals), the regexp is not run at all.
type prefilter struct {
	op   pfOp
	lit  needle // pfLit
	fold bool   // pfLit: the literal ignores case ((?i))
	subs []prefilter
}

type pfOp uint8

const (
	pfTrue pfOp = iota // no condition
	pfLit              // the value contains lit
	pfAnd              // every sub holds
	pfOr               // some sub holds
)

// maxPrefilterLits bounds the literals of one prefilter; a larger one is
// dropped (pfTrue), as its cost would approach the regexp's.
const maxPrefilterLits = 16

// ok reports whether v may match the regexp.
func (p *prefilter) ok(v string) bool {
	switch p.op {
	case pfLit:
		if p.fold {
			return p.lit.containedIn(v)
		}
		return strings.Contains(v, p.lit.s)
	case pfAnd:
		for i := range p.subs {
			if !p.subs[i].ok(v) {
				return false
			}
		}
		return true
	case pfOr:
		for i := range p.subs {
			if p.subs[i].ok(v) {
				return true
			}
		}
		return false
	}
	return true
}

// newPrefilter builds the prefilter of pattern (already known to compile)
// and reports whether it is exact: true exactly when the regexp matches.
func newPrefilter(pattern string) (p prefilter, exact bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return prefilter{}, false
	}
	if anchoredStart(re) {
		// An anchored regexp fails fast on its own: it only tries the
		// start of the value.
		return prefilter{}, false
	}
	p = required(re)
	if countLits(&p) > maxPrefilterLits {
		return prefilter{}, false
	}
	return p, p.op != pfTrue && literalsOnly(re)
}

// anchoredStart reports whether re can only match at the start of the text
// (it begins with ^ outside (?m), or \A).
func anchoredStart(re *syntax.Regexp) bool {
	for {
		switch re.Op {
		case syntax.OpBeginText:
			return true
		case syntax.OpCapture:
			re = re.Sub[0]
		case syntax.OpConcat:
			if len(re.Sub) == 0 {
				return false
			}
			re = re.Sub[0]
		default:
			return false
		}
	}
}

// required returns what every match of re must contain.
func required(re *syntax.Regexp) prefilter {
	switch re.Op {
	case syntax.OpLiteral:
		// A U+FFFD in the pattern also matches invalid UTF-8 in the
		// value, which a substring search would not find: no condition.
		if len(re.Rune) == 0 || slices.Contains(re.Rune, utf8.RuneError) {
			return prefilter{}
		}
		fold := re.Flags&syntax.FoldCase != 0
		return prefilter{op: pfLit, lit: newNeedle(string(re.Rune)), fold: fold}
	case syntax.OpCapture:
		return required(re.Sub[0])
	case syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		and := prefilter{op: pfAnd}
		for _, sub := range re.Sub {
			if p := required(sub); p.op != pfTrue {
				and.subs = append(and.subs, p)
			}
		}
		return collapse(and)
	case syntax.OpAlternate:
		or := prefilter{op: pfOr}
		for _, sub := range re.Sub {
			p := required(sub)
			if p.op == pfTrue {
				return prefilter{}
			}
			or.subs = append(or.subs, p)
		}
		return collapse(or)
	}
	return prefilter{}
}

func collapse(p prefilter) prefilter {
	switch len(p.subs) {
	case 0:
		return prefilter{}
	case 1:
		return p.subs[0]
	}
	return p
}

func countLits(p *prefilter) int {
	if p.op == pfLit {
		return 1
	}
	n := 0
	for i := range p.subs {
		n += countLits(&p.subs[i])
	}
	return n
}

// literalsOnly reports whether re matches exactly the values that contain
// one of its literals: an unanchored literal, or an alternation of them
// (through groups), so that the prefilter is the whole regexp.
func literalsOnly(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) > 0
	case syntax.OpCapture:
		return literalsOnly(re.Sub[0])
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !literalsOnly(sub) {
				return false
			}
		}
		return true
	}
	return false
}
