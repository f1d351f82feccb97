package enrich

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/stages/enrich/ipdb/ipdbtest"
	"github.com/leadflow/leadflow/stages/topics"
)

// TestGuideNetcontrolVisit runs the guide's new_lead visit through the
// stage: the hit comes out keyed ws_123|netcontrol.com with the guide's
// browser, OS, device, page and visitor location, and Netcontrol's company
// record goes to the companies topic once.
func TestGuideNetcontrolVisit(t *testing.T) {
	f := newFixture(t, DefaultConfig(), "", nil)
	ev := schemas.GuideNetcontrolEvent()
	out := f.run(t, encode(ev))
	if len(out.dead) != 0 {
		t.Fatalf("dead letters: %v", out.dead[0].err)
	}
	hits := out.topic("t.hits")
	if len(hits) != 1 {
		t.Fatalf("%d hits, want 1", len(hits))
	}
	if got := string(hits[0].Key); got != "ws_123|netcontrol.com" {
		t.Errorf("hit key = %q, want ws_123|netcontrol.com", got)
	}
	h := decodeHit(t, hits[0])
	loc := schemas.GuideNetcontrolVisitorLocation()
	want := ev.Hit()
	want.Browser, want.OperatingSystem, want.DeviceType = "Safari", "Mac OS", "desktop"
	want.CompanyDomain, want.NetworkType = "netcontrol.com", schemas.NetworkBusiness
	want.Location = &loc
	if !bytes.Equal(hits[0].Value, want.AppendJSON(nil)) {
		t.Errorf("hit =\n%s\nwant\n%s", hits[0].Value, want.AppendJSON(nil))
	}
	// The same, field by field, for the guide's values.
	lead := schemas.GuideNetcontrolLead()
	pv := lead.RecentSessions[0].Pageviews[0]
	checks := []struct{ name, got, want string }{
		{"browser", h.Browser, "Safari"}, {"operating_system", h.OperatingSystem, "Mac OS"},
		{"device_type", h.DeviceType, "desktop"}, {"company_domain", h.CompanyDomain, "netcontrol.com"},
		{"host", h.Host, pv.Host}, {"path", h.Path, pv.Path}, {"url", h.URL, pv.URL},
		{"referrer", h.Referrer, "https://www.google.com/"}, {"utm_source", h.UTMSource, "google"},
		{"utm_medium", h.UTMMedium, "cpc"}, {"utm_campaign", h.UTMCampaign, "20933837881"},
		{"utm_term", h.UTMTerm, "leadforensics"}, {"utm_content", h.UTMContent, "158349409355"},
		{"city", *h.Location.City, "Lahti"}, {"country_code", *h.Location.CountryCode, "FI"},
		{"region", *h.Location.Region, "Etela-Pohjanmaa"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if *h.Location.Latitude != 63.216671 || *h.Location.Longitude != 22.85 {
		t.Errorf("coordinates = %v, %v; want 63.216671, 22.85", *h.Location.Latitude, *h.Location.Longitude)
	}
	if !h.Timestamp.Equal(schemas.GuideHitTime()) || h.TimeSpent != 14 {
		t.Errorf("timestamp, time_spent = %v, %d", h.Timestamp, h.TimeSpent)
	}

	cos := out.topic("t.companies")
	if len(cos) != 1 {
		t.Fatalf("%d company records, want 1", len(cos))
	}
	nc := schemas.GuideNetcontrol()
	if string(cos[0].Key) != "netcontrol.com" || !bytes.Equal(cos[0].Value, nc.AppendJSON(nil)) {
		t.Errorf("company record %s = %s\nwant the guide's Netcontrol %s", cos[0].Key, cos[0].Value, nc.AppendJSON(nil))
	}
	if out.out[0].Topic != "t.companies" {
		t.Error("the company record should be emitted before the hit that introduced it")
	}

	// The same company again, in this batch or the next: no second record.
	ev2 := ev
	ev2.EventID = "another"
	out = f.run(t, encode(ev2), encode(ev2))
	if n := len(out.topic("t.companies")); n != 0 {
		t.Errorf("%d company records for an already sent company, want 0", n)
	}
	if n := len(out.topic("t.hits")); n != 2 {
		t.Errorf("%d hits, want 2", n)
	}
	if got := value(f.s.m.companiesSent); got != 1 {
		t.Errorf("companies sent = %v, want 1", got)
	}
}

// TestDrops sends traffic that makes no lead and checks that each is
// dropped and counted under its reason, while good traffic passes.
func TestDrops(t *testing.T) {
	f := newFixture(t, DefaultConfig(), "", nil)
	cases := []struct {
		name, ip, ua string
		drop         drop // numDrops: not dropped
	}{
		{"googlebot from a business network", "198.51.100.7", googlebot, dropBot},
		{"curl", "198.51.100.7", "curl/8.4.0", dropBot},
		{"headless chrome", "198.51.100.7", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", dropBot},
		{"isp 192.0.2.x", "192.0.2.44", chromeWin, dropISP},
		{"isp generated", addr(f.network(t, schemas.NetworkISP, 1), 3), chromeWin, dropISP},
		{"hosting", addr(f.network(t, schemas.NetworkHosting, 0), 9), chromeWin, dropHosting},
		{"education", addr(f.network(t, schemas.NetworkEducation, 0), 9), chromeWin, dropEducation},
		{"unknown ipv4", "10.20.30.40", chromeWin, dropUnknownIP},
		{"unknown public ipv4", "8.8.8.8", chromeWin, dropUnknownIP},
		{"unknown ipv6", "2a00:1450:4001::1", chromeWin, dropUnknownIP},
		{"ipv4-mapped ipv6 of an isp", "::ffff:192.0.2.44", chromeWin, dropISP},
		{"bot from an isp counts as bot", "192.0.2.44", googlebot, dropBot},
		{"business", "198.51.100.9", chromeWin, numDrops},
		{"business ipv6", "2001:db8::77", chromeAnd, numDrops},
		{"business ipv4-mapped", "::ffff:203.0.113.5", chromeWin, numDrops},
		{"empty user agent is kept", "198.51.100.9", "", numDrops},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := [numDrops]float64{}
			for d := range numDrops {
				before[d] = value(f.s.m.dropped[d])
			}
			out := f.run(t, encode(event(i, c.ip, c.ua)))
			if len(out.dead) != 0 {
				t.Fatalf("dead-lettered: %v", out.dead[0].err)
			}
			hits := out.topic("t.hits")
			if c.drop == numDrops {
				if len(hits) != 1 {
					t.Fatalf("%d hits, want 1", len(hits))
				}
				return
			}
			if len(out.out) != 0 {
				t.Fatalf("%d outputs, want none (dropped as %s)", len(out.out), dropReasons[c.drop])
			}
			for d := range numDrops {
				want := before[d]
				if d == c.drop {
					want++
				}
				if got := value(f.s.m.dropped[d]); got != want {
					t.Errorf("dropped{reason=%q} = %v, want %v", dropReasons[d], got, want)
				}
			}
		})
	}

	// The metric is exposed with the documented name and label.
	n, err := series(f.reg, "leadflow_enrich_dropped_total")
	if err != nil || n != len(dropReasons) {
		t.Errorf("leadflow_enrich_dropped_total series = %d, %v; want one per reason (%d)", n, err, len(dropReasons))
	}
	if got := value(f.s.m.dropped[dropBot]); got != 4 {
		t.Errorf(`leadflow_enrich_dropped_total{reason="bot"} = %v, want 4`, got)
	}
}

func TestDropEmptyUserAgent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DropEmptyUserAgent = true
	f := newFixture(t, cfg, "", nil)
	out := f.run(t, encode(event(1, "198.51.100.9", "")), encode(event(2, "198.51.100.9", safariMac)))
	if n := len(out.topic("t.hits")); n != 1 {
		t.Fatalf("%d hits, want 1 (the one with a user agent)", n)
	}
	if got := value(f.s.m.dropped[dropBot]); got != 1 {
		t.Errorf("dropped{bot} = %v, want 1", got)
	}
}

func TestUserAgentAndDeviceTypes(t *testing.T) {
	f := newFixture(t, DefaultConfig(), "", nil)
	cases := []struct{ ua, browser, os, device string }{
		{safariMac, "Safari", "Mac OS", "desktop"},
		{chromeWin, "Chrome", "Windows", "desktop"},
		{chromeAnd, "Chrome", "Android", "mobile"},
		{"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Safari", "iOS", "tablet"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", "Firefox", "Windows", "desktop"},
		{"", "", "", ""},
	}
	for i, c := range cases {
		for range 2 { // a cache miss, then a hit
			out := f.run(t, encode(event(i, "203.0.113.8", c.ua)))
			h := decodeHit(t, out.topic("t.hits")[0])
			if h.Browser != c.browser || h.OperatingSystem != c.os || h.DeviceType != c.device {
				t.Errorf("%q: got %q/%q/%q, want %q/%q/%q", c.ua, h.Browser, h.OperatingSystem, h.DeviceType, c.browser, c.os, c.device)
			}
		}
	}
	hit := value(f.s.m.cacheHit[cacheUserAgent])
	miss := value(f.s.m.cacheMiss[cacheUserAgent])
	if miss != 5 || hit != 5 {
		t.Errorf("user agent cache hits, misses = %v, %v; want 5, 5", hit, miss)
	}
}

// TestUserAgentCacheIsBounded sends many distinct user agents through a
// small cache.
func TestUserAgentCacheIsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UACacheSize = 16
	f := newFixture(t, cfg, "", nil)
	var batch [][]byte
	for i := range 2000 {
		batch = append(batch, encode(event(i, "198.51.100.9", chromeWin+" r/"+fmt.Sprint(i))))
	}
	out := f.run(t, batch...)
	if n := len(out.topic("t.hits")); n != 2000 {
		t.Fatalf("%d hits, want 2000", n)
	}
	if n := f.s.agents.Len(); n > 16 {
		t.Errorf("user agent cache holds %d entries, bound 16", n)
	}
}

func TestURLParts(t *testing.T) {
	f := newFixture(t, DefaultConfig(), "", nil)
	ev := event(1, "198.51.100.9", chromeWin)
	ev.URL = "https://Shop.example.com:8443/a%20b/c?z=1&utm_source=news&utm_medium=email&utm_campaign=spring%20sale&utm_term=t+1&utm_content=hero&utm_source=ignored"
	h := decodeHit(t, f.run(t, encode(ev)).topic("t.hits")[0])
	want := []struct{ name, got, want string }{
		{"host", h.Host, "Shop.example.com:8443"},
		{"path", h.Path, "/a%20b/c?z=1&utm_source=news&utm_medium=email&utm_campaign=spring%20sale&utm_term=t+1&utm_content=hero&utm_source=ignored"},
		{"utm_source", h.UTMSource, "news"}, {"utm_medium", h.UTMMedium, "email"},
		{"utm_campaign", h.UTMCampaign, "spring sale"}, {"utm_term", h.UTMTerm, "t 1"}, {"utm_content", h.UTMContent, "hero"},
	}
	for _, w := range want {
		if w.got != w.want {
			t.Errorf("%s = %q, want %q", w.name, w.got, w.want)
		}
	}
	ev.URL = "http://example.org"
	h = decodeHit(t, f.run(t, encode(ev)).topic("t.hits")[0])
	if h.Host != "example.org" || h.Path != "/" || h.UTMSource != "" {
		t.Errorf("bare URL: host %q path %q utm_source %q", h.Host, h.Path, h.UTMSource)
	}
}

// TestDeadLetters sends each kind of bad input between good events: each
// is dead-lettered with a reason code and an error naming the field, and
// the good ones go on.
func TestDeadLetters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxEventBytes = 2048
	f := newFixture(t, cfg, "", nil)
	good := string(encode(event(0, "198.51.100.9", chromeWin)))
	replace := func(old, new string) []byte { return []byte(strings.Replace(good, old, new, 1)) }
	cases := []struct {
		name   string
		value  []byte
		reason string
		inErr  string
	}{
		{"not json", []byte("hello"), ReasonBadJSON, "invalid JSON"},
		{"empty value", nil, ReasonBadJSON, "invalid JSON"},
		{"truncated", []byte(good[:40]), ReasonBadJSON, "invalid JSON"},
		{"array", []byte(`[1,2]`), ReasonBadJSON, "invalid JSON"},
		{"trailing garbage", []byte(good + "x"), ReasonBadJSON, "invalid JSON"},
		{"too large", []byte(good[:len(good)-1] + `,"x":"` + strings.Repeat("a", 3000) + `"}`), ReasonTooLarge, "too large"},
		{"missing ip", replace(`"ip":"198.51.100.9",`, ""), ReasonInvalidField, `field "ip": is required`},
		{"bad ip", replace(`"198.51.100.9"`, `"300.1.1.1"`), ReasonInvalidField, `field "ip"`},
		{"ip is a number", replace(`"198.51.100.9"`, `7`), ReasonInvalidField, `field "ip"`},
		{"bad type", replace(`"pageview"`, `"click"`), ReasonInvalidField, `field "type"`},
		{"bad url", replace(`"https://www.example.com/pricing?utm_source=google&utm_medium=cpc"`, `"ftp://x/"`), ReasonInvalidField, `field "url"`},
		{"bad timestamp", replace(`"2024-05-15T10:55:50Z"`, `"yesterday"`), ReasonInvalidField, `field "timestamp"`},
		{"negative time_spent", replace(`"time_spent":14`, `"time_spent":-1`), ReasonInvalidField, `field "time_spent"`},
		{"unknown field", []byte(good[:len(good)-1] + `,"timeSpent":3}`), ReasonInvalidField, `field "timeSpent"`},
		{"repeated field", []byte(good[:len(good)-1] + `,"ip":"1.2.3.4"}`), ReasonInvalidField, `field "ip"`},
		{"empty workspace", replace(`"ws_123"`, `""`), ReasonInvalidField, `field "workspace_id"`},
	}
	values := [][]byte{[]byte(good)}
	for _, c := range cases {
		values = append(values, c.value, []byte(good))
	}
	out := f.run(t, values...)
	if n := len(out.topic("t.hits")); n != len(cases)+1 {
		t.Errorf("%d hits, want %d: every good event between the bad ones", n, len(cases)+1)
	}
	if len(out.dead) != len(cases) {
		t.Fatalf("%d dead letters, want %d", len(out.dead), len(cases))
	}
	for i, c := range cases {
		d := out.dead[i]
		if !bytes.Equal(d.rec.Value, c.value) {
			t.Errorf("%s: dead letter %d is %q, want the bad record", c.name, i, d.rec.Value)
		}
		if got := reasonOf(d.err); got != c.reason {
			t.Errorf("%s: reason = %q, want %q (error %v)", c.name, got, c.reason, d.err)
		}
		if !strings.Contains(d.err.Error(), c.inErr) {
			t.Errorf("%s: error %q does not contain %q", c.name, d.err, c.inErr)
		}
		if !errors.Is(d.err, schemas.ErrBadEvent) {
			t.Errorf("%s: error does not wrap schemas.ErrBadEvent", c.name)
		}
	}
}

// Regression (issue 12): enrich accepted "0001-01-01T00:00:00Z" (then
// leads dead-lettered the hit as "timestamp is missing"), and hits dated
// 9999-12-31 or 1970 set a lead's last_seen or first_seen for good. Event
// time is now checked once, here, against max_event_age and
// max_event_ahead of the clock (the fixture's is the guide's hit time).
func TestEventTimeWindow(t *testing.T) {
	now := schemas.GuideHitTime().Add(time.Minute)
	good := string(encode(event(0, "198.51.100.9", chromeWin)))
	at := func(ts string) []byte {
		return []byte(strings.Replace(good, `"2024-05-15T10:55:50Z"`, strconv.Quote(ts), 1))
	}
	rfc := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for _, tc := range []struct {
		name    string
		cfg     func(*Config)
		ts      string
		refused string // "" accepted; else in the error
	}{
		{"zero time", nil, "0001-01-01T00:00:00Z", "zero time"},
		{"1970", nil, "1970-01-01T00:00:00Z", "max_event_age"},
		{"8 days old", nil, rfc(-8 * 24 * time.Hour), "max_event_age"},
		{"6 days old", nil, rfc(-6 * 24 * time.Hour), ""},
		{"9 minutes ahead", nil, rfc(9 * time.Minute), ""},
		{"11 minutes ahead", nil, rfc(11 * time.Minute), "max_event_ahead"},
		{"9999-12-31", nil, "9999-12-31T23:59:59Z", "max_event_ahead"},
		{"1970, window off", func(c *Config) { c.MaxEventAge = 0 }, "1970-01-01T00:00:00Z", ""},
		{"9999, window off", func(c *Config) { c.MaxEventAhead = 0 }, "9999-12-31T23:59:59Z", ""},
		{"zero time, window off", func(c *Config) { c.MaxEventAge, c.MaxEventAhead = 0, 0 }, "0001-01-01T00:00:00Z", "zero time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			out := newFixture(t, cfg, "", nil).run(t, at(tc.ts))
			if tc.refused == "" {
				if len(out.dead) != 0 || len(out.topic("t.hits")) != 1 {
					t.Fatalf("%s: %d dead letters, %d hits; want it accepted", tc.ts, len(out.dead), len(out.topic("t.hits")))
				}
				return
			}
			if len(out.dead) != 1 {
				t.Fatalf("%s: %d dead letters, want 1", tc.ts, len(out.dead))
			}
			err := out.dead[0].err
			if reasonOf(err) != ReasonInvalidField || !strings.Contains(err.Error(), `field "timestamp"`) || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("%s: dead letter %q (reason %s), want invalid_field naming timestamp and %q", tc.ts, err, reasonOf(err), tc.refused)
			}
		})
	}
}

func TestAllowUnknownFields(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowUnknownFields = true
	f := newFixture(t, cfg, "", nil)
	good := encode(event(0, "198.51.100.9", chromeWin))
	out := f.run(t, append(good[:len(good)-1:len(good)-1], []byte(`,"new_field":{"a":[1]}}`)...))
	if len(out.dead) != 0 || len(out.topic("t.hits")) != 1 {
		t.Fatalf("with allow_unknown_fields: %d dead, %d hits; want 0, 1", len(out.dead), len(out.topic("t.hits")))
	}
}

// TestUnknownCompanyStillMakesAHit: a business network whose domain is not
// in the companies data gives a hit and a minimal company record.
func TestUnknownCompanyStillMakesAHit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.Write(t, path,
		ipdbtest.Business("198.51.100.0/24", "netcontrol.com", "Lahti", "FI"),
		ipdbtest.Business("10.1.0.0/16", "Nobody.Example", "Oslo", "NO"),
		ipdbtest.Network{Prefix: "10.2.0.0/16", Record: dataset.IPRecord{NetworkType: "business"}},
		ipdbtest.Network{Prefix: "10.3.0.0/16", Record: dataset.IPRecord{NetworkType: "government", CompanyDomain: "gov.example"}},
	)
	f := newFixture(t, DefaultConfig(), path, nil)
	out := f.run(t, encode(event(1, "10.1.2.3", chromeWin)), encode(event(2, "10.2.0.1", chromeWin)),
		encode(event(3, "10.3.0.1", chromeWin)))
	hits := out.topic("t.hits")
	if len(hits) != 1 || string(hits[0].Key) != "ws_123|nobody.example" {
		t.Fatalf("hits = %d (first key %q), want 1 keyed ws_123|nobody.example", len(hits), firstKey(hits))
	}
	if h := decodeHit(t, hits[0]); *h.Location.City != "Oslo" {
		t.Errorf("location = %v, want Oslo", h.Location)
	}
	cos := out.topic("t.companies")
	if len(cos) != 1 {
		t.Fatalf("%d company records, want 1", len(cos))
	}
	var c schemas.Company
	if err := c.UnmarshalJSON(cos[0].Value); err != nil {
		t.Fatal(err)
	}
	if string(cos[0].Key) != "nobody.example" || c.Name != "nobody.example" || c.Domain != "nobody.example" || c.Website != nil {
		t.Errorf("minimal company record %s = %s", cos[0].Key, cos[0].Value)
	}
	if got := value(f.s.m.companyUnknown); got != 1 {
		t.Errorf("company_unknown = %v, want 1", got)
	}
	if got := value(f.s.m.dropped[dropNoDomain]); got != 1 {
		t.Errorf("dropped{no_domain} = %v, want 1", got)
	}
	if got := value(f.s.m.dropped[dropOtherNetwork]); got != 1 {
		t.Errorf("dropped{other_network} = %v, want 1", got)
	}
}

// TestCompanyResentAfterEviction: the LRU of sent domains is bounded; a
// domain evicted from it is sent again when next seen.
func TestCompanyResentAfterEviction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CompanyCacheSize = 16
	f := newFixture(t, cfg, "", nil)
	var values [][]byte
	var first string
	for i := range 40 {
		n := f.network(t, schemas.NetworkBusiness, i+2) // past the guide's two
		if i == 0 {
			first = n.CompanyDomain
		}
		values = append(values, encode(event(i, addr(n, 1), chromeWin)))
	}
	out := f.run(t, values...)
	distinct := map[string]bool{}
	for _, r := range out.topic("t.companies") {
		distinct[string(r.Key)] = true
	}
	sent := len(out.topic("t.companies"))
	if sent != len(distinct) {
		t.Fatalf("%d company records for %d domains in one pass: repeats", sent, len(distinct))
	}
	if f.s.sent.Len() > 16 {
		t.Errorf("sent-domains LRU holds %d, bound 16", f.s.sent.Len())
	}
	again := f.run(t, values[0])
	if cos := again.topic("t.companies"); len(cos) != 1 || string(cos[0].Key) != first {
		t.Errorf("after eviction, %s was not sent again (%d records)", first, len(cos))
	}
}

// TestHotReloadMovesAnIP replaces the IP database with one where the IP
// moved to another company: the next batch is keyed by the new company.
func TestHotReloadMovesAnIP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "netcontrol.com", "Lahti", "FI"))
	f := newFixture(t, DefaultConfig(), path, nil)
	ev := encode(event(1, "198.51.100.23", safariMac))
	if hits := f.run(t, ev).topic("t.hits"); string(hits[0].Key) != "ws_123|netcontrol.com" {
		t.Fatalf("before: key %q", hits[0].Key)
	}
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "mdxtechnology.com", "London", "GB"))
	if ok, err := f.s.ReloadIPDatabase(); !ok || err != nil {
		t.Fatalf("reload = %v, %v", ok, err)
	}
	out := f.run(t, ev)
	if hits := out.topic("t.hits"); string(hits[0].Key) != "ws_123|mdxtechnology.com" {
		t.Fatalf("after reload: key %q, want ws_123|mdxtechnology.com", hits[0].Key)
	}
	if cos := out.topic("t.companies"); len(cos) != 1 || string(cos[0].Key) != "mdxtechnology.com" {
		t.Errorf("after reload: company records %d, want mdxtechnology.com's", len(cos))
	}
	if got := value(f.s.m.reloadOK); got != 1 {
		t.Errorf("reloads{ok} = %v, want 1", got)
	}
}

// TestHotReloadOnItsOwn relies on ip_database_reload alone.
func TestHotReloadOnItsOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "netcontrol.com", "Lahti", "FI"))
	cfg := DefaultConfig()
	cfg.IPDatabaseReload = 100 * time.Millisecond
	f := newFixture(t, cfg, path, nil)
	ev := encode(event(1, "198.51.100.23", safariMac))
	f.run(t, ev)
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "moved.example", "Lahti", "FI"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		hits := f.run(t, ev).topic("t.hits")
		if string(hits[0].Key) == "ws_123|moved.example" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replaced IP database was not picked up within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// panicky panics the first time it is asked for one domain.
type panicky struct {
	CompanyMap
	domain string
	done   bool
}

func (p *panicky) Company(d string) (schemas.Company, bool) {
	if d == p.domain && !p.done {
		p.done = true
		panic("boom")
	}
	return p.CompanyMap.Company(d)
}

// TestPanicForgetsClaimedCompanies: when a record panics the runtime
// discards the batch's outputs and runs it again; the companies the
// failed call claimed must be sent in the rerun.
func TestPanicForgetsClaimedCompanies(t *testing.T) {
	dir, err := sampleSet()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := dataset.LoadCompanies(filepath.Join(dir, dataset.CompaniesFile))
	if err != nil {
		t.Fatal(err)
	}
	p := &panicky{CompanyMap: cm, domain: "mdxtechnology.com"}
	f := newFixture(t, DefaultConfig(), "", p)
	values := [][]byte{encode(event(1, "198.51.100.1", chromeWin)), encode(event(2, "203.0.113.1", chromeWin))}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		f.run(t, values...)
	}()
	out := f.run(t, values...)
	var keys []string
	for _, r := range out.topic("t.companies") {
		keys = append(keys, string(r.Key))
	}
	if strings.Join(keys, ",") != "netcontrol.com,mdxtechnology.com" {
		t.Errorf("company records after the rerun = %v, want both again", keys)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(Section); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	c := DefaultConfig()
	c.IPDatabaseReload = 0
	if err := c.Validate(Section); err != nil {
		t.Errorf("ip_database_reload 0 (off) rejected: %v", err)
	}
	c = DefaultConfig()
	c.UACacheSize = 0
	c.MaxEventBytes = 10 << 20
	c.IPDatabaseReload = time.Millisecond
	c.CompanyCacheSize = -1
	c.IPCacheSize = 1
	c.Runtime.MaxBatchRecords = 0
	c.MaxEventAge = time.Second
	c.MaxEventAhead = -time.Second
	err := c.Validate(Section)
	for _, want := range []string{
		"stages.enrich.ua_cache_size: 0 is out of range: must be between 16 and 10000000",
		"stages.enrich.max_event_bytes: 10485760 is out of range",
		"stages.enrich.ip_database_reload: 1ms is out of range: must be between 100ms and 24h0m0s",
		"stages.enrich.company_cache_size: -1",
		"stages.enrich.ip_cache_size: 1",
		"stages.enrich.runtime.max_batch_records: 0",
		"stages.enrich.max_event_age: 1s is out of range",
		"stages.enrich.max_event_ahead: -1s is out of range",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v\ndoes not contain %q", err, want)
		}
	}
	if !errors.Is(err, pipeline.ErrInvalidConfig) {
		t.Error("Validate error does not wrap pipeline.ErrInvalidConfig")
	}
}

func TestNewErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UACacheSize = 1
	_, err := New(cfg, Deps{})
	for _, want := range []string{"stages.enrich.ua_cache_size", "IPDatabase", "Companies", "Topics"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v does not mention %s", err, want)
		}
	}
	_, err = New(DefaultConfig(), Deps{Topics: topics.New("x."), IPDatabase: filepath.Join(t.TempDir(), "none.mmdb"),
		Companies: CompanyMap{}})
	if err == nil || !strings.Contains(err.Error(), "data.ip_database") {
		t.Errorf("New with a missing database: %v", err)
	}
	f := newFixture(t, DefaultConfig(), "", nil)
	_, err = New(DefaultConfig(), Deps{Topics: topics.New("x."), Registerer: f.reg,
		IPDatabase: f.s.db.Path(), Companies: CompanyMap{}})
	if err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("a second stage on one registry: %v, want an already-registered error", err)
	}
}

func TestProcessAfterClose(t *testing.T) {
	f := newFixture(t, DefaultConfig(), "", nil)
	if err := f.s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var sk fakeSink
	if err := f.s.process(nil, &sk); err == nil {
		t.Fatal("process after Close: no error")
	}
}

// FuzzProcess: no input may panic the stage; each record is dead-lettered,
// dropped, or becomes exactly one hit.
func FuzzProcess(f *testing.F) {
	fx := newFixture(f, DefaultConfig(), "", nil)
	f.Add(encode(schemas.GuideNetcontrolEvent()))
	f.Add(encode(event(1, "2001:db8::1", chromeAnd)))
	f.Add([]byte(`{"event_id":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := fx.run(t, data)
		if len(out.dead)+len(out.topic("t.hits")) > 1 {
			t.Fatalf("one record gave %d dead letters and %d hits", len(out.dead), len(out.topic("t.hits")))
		}
		for _, r := range out.topic("t.hits") {
			h := decodeHit(t, r)
			if string(r.Key) != h.WorkspaceID+"|"+h.CompanyDomain {
				t.Fatalf("key %q for hit of %s|%s", r.Key, h.WorkspaceID, h.CompanyDomain)
			}
		}
	})
}
