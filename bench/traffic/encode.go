package traffic

import (
	"bytes"
	"strconv"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// appendEvent appends the raw event of session s's current page, with the
// same keys in the same order as schemas.RawEvent.AppendJSON writes them.
// Every string but the workspace id (pre-encoded by New) is plain ASCII
// that needs no escaping.
func (g *Generator) appendEvent(dst []byte, s *session, typ string, now time.Time) []byte {
	v := s.v
	dst = append(dst, `{"event_id":"`...)
	dst = appendUUID(dst, g.runHash, g.nextEvent)
	g.nextEvent++
	dst = append(dst, `","workspace_id":`...)
	dst = append(dst, g.wsJSON[v.ws]...)
	dst = append(dst, `,"session_id":"`...)
	dst = append(dst, g.key...)
	dst = append(dst, '"')
	if v.kind != KindBot {
		dst = append(dst, `,"visitor_id":"`...)
		dst = appendHex(append(dst, g.visPfx...), v.seq)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","ip":"`...)
	dst = v.addr.AppendTo(dst)
	dst = append(dst, `","user_agent":"`...)
	if v.kind == KindBot {
		dst = append(dst, botAgents[v.ua]...)
	} else {
		dst = append(dst, humanAgents[v.ua].ua...)
	}
	dst = append(dst, `","url":"`...)
	dst = g.appendURL(dst, s, s.page, s.pageNo == 1)
	dst = append(dst, '"')
	dst = g.appendReferrer(dst, s)
	dst = append(dst, `,"time_spent":`...)
	dst = strconv.AppendInt(dst, s.timeSpent, 10)
	dst = append(dst, `,"timestamp":"`...)
	dst = now.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}

// appendReferrer appends the referrer member, if the page has one: the
// session's source for the landing page, the previous page after that.
func (g *Generator) appendReferrer(dst []byte, s *session) []byte {
	if s.guide {
		return append(dst, `,"referrer":"`+guideReferrer+`"`...)
	}
	if s.pageNo > 1 {
		dst = append(dst, `,"referrer":"`...)
		dst = g.appendURL(dst, s, s.prevPage, s.pageNo == 2)
		return append(dst, '"')
	}
	if s.v.kind == KindBot {
		return dst
	}
	ref := g.sources[s.src].referrers[s.ref]
	if ref == "" {
		return dst
	}
	dst = append(dst, `,"referrer":"`...)
	dst = append(dst, ref...)
	return append(dst, '"')
}

// appendURL appends the URL of path index page of s's site; the landing
// page carries the source's query and click id. With Config.Marker every
// URL ends with lf_sid=SESSION_ID.
func (g *Generator) appendURL(dst []byte, s *session, page int16, landing bool) []byte {
	if s.guide {
		return append(dst, schemas.GuidePageURL...)
	}
	dst = append(dst, "https://"...)
	dst = append(dst, g.sites[s.v.ws]...)
	dst = append(dst, paths[page]...)
	sep := byte('?')
	if landing && s.v.kind != KindBot {
		src := &g.sources[s.src]
		if q := src.queries[s.query]; q != "" {
			dst = append(dst, '?')
			dst = append(dst, q...)
			sep = '&'
		}
		if src.clickID != "" {
			dst = append(dst, sep)
			dst = append(dst, src.clickID...)
			dst = append(dst, '=')
			dst = appendHexN(dst, s.click, 16)
			sep = '&'
		}
	}
	if g.cfg.Marker {
		dst = append(dst, sep)
		dst = append(dst, MarkerParam+"="...)
		dst = appendHex(append(dst, g.sessPfx...), s.seq)
	}
	return dst
}

// Malformed variants: each breaks one rule of DESIGN 1.2.
const (
	malTruncated   = iota // cut in the middle
	malUnknownKey         // "timeSpent" instead of "time_spent"
	malBadType            // "type": "click"
	malBadIP              // "ip": "999.0.0.1"
	malBadTime            // "timestamp": "yesterday"
	malRelativeURL        // "url": "/pricing"
	malNotJSON            // a line of an access log
	malNegative           // "time_spent": -5
	malMissing            // no workspace_id
	numMalformed
)

// malformed appends a deliberately bad event: a valid one from a throwaway
// session (no visitor state changes), then broken in one way.
func (g *Generator) malformed(dst []byte, now time.Time) ([]byte, Event) {
	seq := g.nextSession
	g.nextSession++
	v := visitor{seq: g.nextVisitor, kind: KindISP, ws: int32(g.rng.IntN(len(g.wsJSON))), company: -1,
		ua: int16(g.pick(g.uaCum)), addr: hostAddr(g.data.ISP, g.rng)}
	g.nextVisitor++
	s := session{v: &v, seq: seq, page: navPaths[g.pick(g.navCum)], pageNo: 2, prevPage: 0}
	g.key = appendHex(append(g.key[:0], g.malPfx...), seq)
	ev := Event{Kind: KindMalformed, Key: g.key, SessionSeq: seq, Workspace: int(v.ws), Company: -1}
	start := len(dst)
	variant := g.rng.IntN(numMalformed)
	if variant == malNotJSON {
		dst = append(dst, `203.0.113.9 - - "GET /pricing HTTP/1.1" 200 5120 "-" "curl/8.5.0"`...)
		return dst, ev
	}
	g.scratch = g.appendEvent(g.scratch[:0], &s, schemas.TypePageview, now)
	b := g.scratch
	switch variant {
	case malTruncated:
		b = b[:len(b)/2]
	case malUnknownKey:
		b = bytes.Replace(b, []byte(`"time_spent"`), []byte(`"timeSpent"`), 1)
	case malBadType:
		b = bytes.Replace(b, []byte(`"type":"pageview"`), []byte(`"type":"click"`), 1)
	case malBadIP:
		i := bytes.Index(b, []byte(`"ip":"`)) + len(`"ip":"`)
		j := i + bytes.IndexByte(b[i:], '"')
		b = append(b[:i:i], append([]byte("999.0.0.1"), b[j:]...)...)
	case malBadTime:
		i := bytes.Index(b, []byte(`"timestamp":"`)) + len(`"timestamp":"`)
		b = append(b[:i:i], `yesterday"}`...)
	case malRelativeURL:
		b = bytes.Replace(b, []byte(`"url":"https://`), []byte(`"url":"/`), 1)
	case malNegative:
		b = bytes.Replace(b, []byte(`"time_spent":0`), []byte(`"time_spent":-5`), 1)
	case malMissing:
		i := bytes.Index(b, []byte(`,"workspace_id":`))
		j := i + 1 + bytes.IndexByte(b[i+1:], ',')
		b = append(b[:i:i], b[j:]...)
	}
	return append(dst[:start], b...), ev
}
