package filter

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The references below define the case-insensitive operators by
// strings.EqualFold on substrings at rune boundaries, independently of the
// fast paths in fold.go.

func runeBounds(s string) []int {
	b := []int{0}
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
		b = append(b, i)
	}
	return b
}

func refPrefix(s, p string) bool {
	for _, k := range runeBounds(s) {
		if strings.EqualFold(s[:k], p) {
			return true
		}
	}
	return false
}

func refSuffix(s, p string) bool {
	for _, k := range runeBounds(s) {
		if strings.EqualFold(s[k:], p) {
			return true
		}
	}
	return false
}

func refContains(s, p string) bool {
	b := runeBounds(s)
	for i, x := range b {
		for _, y := range b[i:] {
			if strings.EqualFold(s[x:y], p) {
				return true
			}
		}
	}
	return false
}

func checkFold(t *testing.T, s, p string) {
	t.Helper()
	n := newNeedle(p)
	if got, want := n.equal(s), strings.EqualFold(s, p); got != want {
		t.Errorf("equal(%q, %q) = %v, want %v", s, p, got, want)
	}
	if got, want := n.prefixOf(s), refPrefix(s, p); got != want {
		t.Errorf("prefixOf(%q, %q) = %v, want %v", s, p, got, want)
	}
	if got, want := n.suffixOf(s), refSuffix(s, p); got != want {
		t.Errorf("suffixOf(%q, %q) = %v, want %v", s, p, got, want)
	}
	if got, want := n.containedIn(s), refContains(s, p); got != want {
		t.Errorf("containedIn(%q, %q) = %v, want %v", s, p, got, want)
	}
	if strings.EqualFold(s, p) && foldHash(s) != foldHash(p) {
		t.Errorf("foldHash(%q) != foldHash(%q) though they are equal under folding", s, p)
	}
}

func TestFold(t *testing.T) {
	for _, c := range [][2]string{
		{"Machinery", "machinery"},
		{"Machinery", "CHIN"},
		{"Machinery", "mach"},
		{"Machinery", "nery"},
		{"Machinery", "xmachinery"},
		{"/careers/senior", "/CAREERS"},
		{"/Careers", "/careers/"},
		{"München", "MÜNCHEN"},
		{"München", "ünc"},
		{"\u212aarlsruhe", "karls"}, // KELVIN SIGN
		{"x\u212aarl", "KARL"},      // inside
		{"Ma\u017Fchinery", "sch"},  // LONG S
		{"Ma\u017Fchinery", "NERY"}, // ASCII needle, non-ASCII subject, match after it
		{"Ma\u017Fchinery", "mas"},  // across the long s
		{"ma\u017F", "AS"},          // suffix across it
		{"ǅemal", "ǆ"},              // title case orbit
		{"ΣΊΣΥΦΟΣ", "σίσυφος"},      // sigma forms
		{"ss", "ß"},                 // no multi-rune folding
		{"abc\xffdef", "\xffd"},     // invalid UTF-8
		{"abc\xffdef", "\uFFFDd"},   // invalid byte vs U+FFFD, as EqualFold
		{"short", "much longer needle"},
		{"", "a"},
		{"k", "\u212a"},
	} {
		checkFold(t, c[0], c[1])
	}
}

// FuzzFold checks the fast case-insensitive paths against the references.
func FuzzFold(f *testing.F) {
	for _, seed := range [][2]string{
		{"Machinery", "chin"}, {"\u212aarl", "k"}, {"ma\u017F", "S"}, {"München", "ÜN"}, {"a\xffb", "\xff"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, s, p string) {
		if len(s) > 64 || len(p) > 16 || p == "" {
			return
		}
		checkFold(t, s, p)
	})
}

func TestPrefilter(t *testing.T) {
	cases := []struct {
		pattern string
		exact   bool
		yes, no []string
	}{
		{`[?&]gclid=`, false, []string{"/a?gclid=1", "/a?x=1&gclid=2"}, []string{"/pricing", "/a?GCLID=1"}},
		{`(?i)pricing|demo`, true, []string{"/PRICING", "/book-a-Demo"}, []string{"/price"}},
		{`leadforensics`, true, []string{"/snitcher-vs-leadforensics"}, []string{"/LeadForensics"}},
		{`(?i)\b(scada|energy management|utilities)\b`, false, []string{"SCADA systems", "for Utilities"}, []string{"a scadas b"}},
		{`^/(security|sso)`, false, []string{"/sso"}, []string{"/x/sso"}},
		{`a+b`, false, []string{"aab"}, []string{"b"}},
		{`(ab)*c`, false, []string{"c"}, []string{"d"}},
		{`x{2,}yz`, false, []string{"xxyz"}, []string{"xyz"}},
		{`\x{FFFD}`, false, []string{"a\xffb"}, []string{"ab"}},
	}
	for _, c := range cases {
		re := regexp.MustCompile(c.pattern)
		p, exact := newPrefilter(c.pattern)
		if exact != c.exact {
			t.Errorf("%s: exact = %v, want %v", c.pattern, exact, c.exact)
		}
		for _, v := range c.yes {
			if !re.MatchString(v) {
				t.Fatalf("%s does not match %q: bad test", c.pattern, v)
			}
			if !p.ok(v) {
				t.Errorf("%s: prefilter rejects %q, which matches", c.pattern, v)
			}
		}
		for _, v := range c.no {
			if re.MatchString(v) {
				t.Fatalf("%s matches %q: bad test", c.pattern, v)
			}
			if exact && p.ok(v) {
				t.Errorf("%s: exact prefilter accepts %q", c.pattern, v)
			}
		}
	}
	// A prefilter that does its job: rejects the long URL without a regexp.
	p, _ := newPrefilter(`[?&]gclid=`)
	if p.op != pfLit || p.lit.s != "gclid=" {
		t.Errorf("prefilter of [?&]gclid= = %+v, want the literal gclid=", p)
	}
}

// FuzzPrefilter checks that a prefilter never rejects a value its regexp
// matches, and that an exact one agrees with it.
func FuzzPrefilter(f *testing.F) {
	for _, seed := range [][2]string{
		{`[?&]gclid=`, "/a?gclid=1"}, {`(?i)pricing|demo`, "/DEMO"}, {`(?i)\bk\b`, "\u212a"},
		{`(?i)ſ+x`, "SSX"}, {`a{2}(b|c)`, "aac"}, {`\x{FFFD}z`, "\xffz"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, v string) {
		if len(pattern) > 64 || len(v) > 256 {
			return
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		p, exact := newPrefilter(pattern)
		m := re.MatchString(v)
		if m && !p.ok(v) {
			t.Fatalf("prefilter of %q rejects %q, which matches", pattern, v)
		}
		if exact && p.ok(v) != m {
			t.Fatalf("exact prefilter of %q says %v for %q, the regexp %v", pattern, p.ok(v), v, m)
		}
	})
}
