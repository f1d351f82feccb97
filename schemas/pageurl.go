package schemas

import (
	"net/url"
	"strings"
)

// PageURL is what the pipeline reads of a raw event's page URL: the parts
// of url.Parse's result a hit carries, as strings that are parts of the
// URL itself whenever they can be (no allocation).
type PageURL struct {
	// Host is url.URL.Host: the host and the port if the URL has one.
	Host string
	// Path is PagePath of the URL: its escaped path ("/" when empty),
	// then "?" and the raw query when it has one.
	Path string
	// RawQuery is url.URL.RawQuery, where the utm_* parameters are read.
	RawQuery string
}

// parsePageURL parses a raw event's URL exactly as url.Parse does, and
// returns the reason for a URL the raw event rules reject: one url.Parse
// rejects (reasonURL), or one that is not an absolute http(s) URL with a
// host (reasonURLAbsolute).
//
// URLs of the common shape (lower-case http or https, a host name of
// letters, digits, '.', '-', '_' or '~' and an optional numeric port, a
// path of the characters a path never escapes and well-formed %
// escapes, any query, a fragment whose % escapes are well formed, no
// control character) are read without url.Parse, which allocates a
// url.URL per event; every other URL goes through url.Parse. The fast
// path reads such a URL to the same Host, Path and RawQuery as
// url.Parse and PagePath (FuzzPageURL compares them).
func parsePageURL(raw string) (PageURL, string) {
	if p, ok := fastPageURL(raw); ok {
		return p, ""
	}
	return pageURLByParse(raw)
}

// pageURLByParse is parsePageURL without its fast path: url.Parse and
// PagePath, the definition the fast path must match.
func pageURLByParse(raw string) (PageURL, string) {
	u, err := url.Parse(raw)
	if err != nil {
		return PageURL{}, reasonURL
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return PageURL{}, reasonURLAbsolute
	}
	return pageURLOf(u), ""
}

// pageURLOf returns the PageURL of a parsed URL.
func pageURLOf(u *url.URL) PageURL {
	return PageURL{Host: u.Host, Path: PagePath(u), RawQuery: u.RawQuery}
}

// fastPageURL reads raw if it has the common shape parsePageURL
// describes, and reports whether it did.
func fastPageURL(raw string) (PageURL, bool) {
	var rest string
	switch {
	case strings.HasPrefix(raw, "https://"):
		rest = raw[len("https://"):]
	case strings.HasPrefix(raw, "http://"):
		rest = raw[len("http://"):]
	default:
		return PageURL{}, false
	}
	start := len(raw) - len(rest)
	if hasControl(rest) {
		return PageURL{}, false
	}
	end := strings.IndexByte(raw, '#') // the end of the part before the fragment
	if end < 0 {
		end = len(raw)
	} else if !wellEscaped(raw[end+1:]) {
		return PageURL{}, false
	}
	query := strings.IndexByte(raw[start:end], '?')
	if query < 0 {
		query = end
	} else {
		query += start
	}
	path := strings.IndexByte(raw[start:query], '/')
	if path < 0 {
		path = query
	} else {
		path += start
	}
	if !plainHost(raw[start:path]) || !plainPath(raw[path:query]) {
		return PageURL{}, false
	}
	p := PageURL{Host: raw[start:path], Path: raw[path:end]}
	if query < end {
		p.RawQuery = raw[query+1 : end]
	}
	switch {
	case path < query:
	case query == end:
		p.Path = "/"
	default:
		return PageURL{}, false // "/" and the query: not a part of raw
	}
	return p, true
}

// plainHost reports whether h is a host name of letters, digits, '.',
// '-', '_' and '~' (at least one) with an optional ':' and digits after
// it: a host url.Parse keeps as it is.
func plainHost(h string) bool {
	name := h
	if i := strings.IndexByte(h, ':'); i >= 0 {
		name = h[:i]
		for j := i + 1; j < len(h); j++ {
			if h[j] < '0' || h[j] > '9' {
				return false
			}
		}
	}
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if urlChars[name[i]]&hostChar == 0 {
			return false
		}
	}
	return true
}

// plainPath reports whether p is a path whose escaped form (url.URL's
// EscapedPath) is p itself: characters a path never escapes, and %
// followed by two hex digits.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case urlChars[c]&pathChar != 0:
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

// urlChars classes the bytes of a URL for fastPageURL: hostChar for a
// host name's (letters, digits, '.', '-', '_', '~'), pathChar for the
// characters a path never escapes (those and "$&+,/:;=@").
var urlChars = func() (t [256]uint8) {
	for c := range 256 {
		if isAlnum(byte(c)) || strings.IndexByte(".-_~", byte(c)) >= 0 {
			t[c] |= hostChar | pathChar
		}
		if strings.IndexByte("$&+,/:;=@", byte(c)) >= 0 {
			t[c] |= pathChar
		}
	}
	return t
}()

const (
	hostChar = 1 << iota
	pathChar
)

// wellEscaped reports whether every % in s is followed by two hex digits.
func wellEscaped(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		s = s[i+3:]
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
