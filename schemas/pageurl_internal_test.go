package schemas

import (
	"strings"
	"testing"
	"unsafe"
)

// pageURLCases are URLs at the edges of the fast path's shape: each must
// read as url.Parse reads it, whichever path reads it.
var pageURLCases = []string{
	"https://www.example.com/pricing?utm_source=google&utm_medium=cpc",
	"http://example.com",
	"https://example.com/",
	"https://example.com?x=1",
	"https://example.com?",
	"https://example.com/p?",
	"https://example.com/p??",
	"https://example.com/p?a?b",
	"https://example.com/p#frag",
	"https://example.com/p#a#b",
	"https://example.com/p#%zz",
	"https://example.com/p#%41",
	"https://example.com/p?x#",
	"https://example.com:8443/a/b",
	"https://example.com:/a",
	"https://:80/a",
	"https://a:b/",
	"https://a:1:2/",
	"https:///path",
	"https://",
	"https:",
	"https:example.com/x",
	"HTTPS://Example.COM/",
	"Https://example.com/",
	"ftp://example.com/",
	"https://user@example.com/",
	"https://user:pw@example.com/",
	"https://[::1]:8080/x",
	"https://[::1/x",
	"https://exa%41mple.com/",
	"https://exa mple.com/",
	"https://ex_am~ple.com/",
	"https://example.com/a%41b",
	"https://example.com/a%2fb",
	"https://example.com/a%2",
	"https://example.com/a%zz",
	"https://example.com/a%",
	"https://example.com/a b",
	"https://example.com/aé",
	"https://example.com/a!b(c)*'",
	"https://example.com/$&+,/:;=@-_.~",
	"https://example.com/?q=é&x=%zz",
	"https://example.com/a\x01",
	"https://example.com/a#\x01",
	"https://example.com/a?\x7f",
	"https://example.com/a\\b",
	"https://example.com/a|b",
	"https://example.com/a[b]",
	"https://example.com/*",
	"https://example.com//double//slash",
	"https://example.com/.././x",
	"https://..:9/x",
}

func TestPageURLMatchesURLParse(t *testing.T) {
	fast := 0
	for _, raw := range pageURLCases {
		got, gotReason := parsePageURL(raw)
		want, wantReason := pageURLByParse(raw)
		if got != want || gotReason != wantReason {
			t.Errorf("parsePageURL(%q) = %+v %q, url.Parse reads %+v %q", raw, got, gotReason, want, wantReason)
		}
		if _, ok := fastPageURL(raw); ok {
			fast++
		}
	}
	// The cases are at the edges of the fast path on purpose: both sides
	// must be exercised, or the comparison above proves nothing of it.
	if fast < 15 || fast > len(pageURLCases)-15 {
		t.Errorf("the fast path read %d of the %d cases", fast, len(pageURLCases))
	}
}

// TestPageURLFastPathAllocatesNothing: a common URL is read without an
// allocation (url.Parse allocates a url.URL), and its parts are the URL's
// own bytes.
func TestPageURLFastPathAllocatesNothing(t *testing.T) {
	raw := strings.Clone("https://www.example.com/pricing?utm_source=google")
	p, ok := fastPageURL(raw)
	if !ok {
		t.Fatalf("the fast path does not read %q", raw)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(raw)))
	for _, part := range []string{p.Host, p.Path, p.RawQuery} {
		if at := uintptr(unsafe.Pointer(unsafe.StringData(part))); at < lo || at+uintptr(len(part)) > lo+uintptr(len(raw)) {
			t.Errorf("%q is not a part of the URL's bytes", part)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = parsePageURL(raw) }); n != 0 {
		t.Errorf("parsePageURL allocates %v times per URL", n)
	}
}

func FuzzPageURL(f *testing.F) {
	for _, raw := range pageURLCases {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, gotReason := parsePageURL(raw)
		want, wantReason := pageURLByParse(raw)
		if got != want || gotReason != wantReason {
			t.Fatalf("parsePageURL(%q) = %+v %q, url.Parse reads %+v %q", raw, got, gotReason, want, wantReason)
		}
	})
}

// BenchmarkPageURL: a page URL of the common shape read by parsePageURL
// (its fast path) and by url.Parse and PagePath, what it replaces.
func BenchmarkPageURL(b *testing.B) {
	raw := GuidePageURL
	b.Run("parsePageURL", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = parsePageURL(raw)
		}
	})
	b.Run("url.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = pageURLByParse(raw)
		}
	})
}

// TestHasControl compares hasControl, which tests eight bytes at once,
// with a test of each byte: every byte value at every position of
// strings up to three words long, among plain and non-ASCII bytes.
func TestHasControl(t *testing.T) {
	naive := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f {
				return true
			}
		}
		return false
	}
	for _, fill := range []byte{'a', 0x20, 0x7e, 0x80, 0xff} {
		for n := 0; n <= 24; n++ {
			for at := 0; at < n; at++ {
				for c := range 256 {
					b := make([]byte, n)
					for i := range b {
						b[i] = fill
					}
					b[at] = byte(c)
					if s := string(b); hasControl(s) != naive(s) {
						t.Fatalf("hasControl(%q) = %v", s, hasControl(s))
					}
				}
			}
		}
	}
}
