package bench

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/bench/latency"
	"github.com/leadflow/leadflow/bench/report"
	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/schemas"
)

// Endpoint classes: how a webhook's endpoint behaves.
const (
	classHealthy uint8 = iota
	classSlow
	classFailing
	numClasses
)

var classNames = [numClasses]string{"healthy", "slow", "failing"}

// headerWebhookID is the Standard Webhooks id of a request (DESIGN 1.3):
// the same for retries of the same batch.
const headerWebhookID = "webhook-id"

// Bounds of the checker's bookkeeping.
const (
	maxSamples     = 10      // missing/unexpected examples kept
	maxMessageIDs  = 1 << 21 // webhook-ids remembered for redelivery detection
	maxContactKeys = 1 << 21 // accepted (webhook, email) pairs remembered
)

// checker matches received webhook subjects to the triggers the traffic
// should cause (DESIGN 1.5) and measures their end-to-end latency. Every
// expected trigger is one (rule, lead) for new_lead or (rule, session) for
// new_session; each rule has its own webhook per workspace, so a subject is
// identified by the webhook it arrived at, its event, its company domain
// and the session marker in its newest session's pageview URLs (traffic
// Config.Marker). A reveal rule expects, per (rule, lead) in its segment,
// as many contact_revealed subjects as the company has contacts fitting
// the persona, at most the reveal limit (which ones is the pipeline's
// choice; any fitting contact of the company is accepted). Counts per
// trigger live in flat slices indexed by ledger index × rules, so memory
// grows with the traffic, not with deliveries (the emails of accepted
// contacts, for duplicates, are the exception, bounded by maxContactKeys).
// It is safe for concurrent use.
type checker struct {
	ledger  *traffic.Ledger
	data    *traffic.Data
	reveals *traffic.Reveals
	rules   []traffic.Rule
	nws     int
	// classes[ws*len(rules)+rule] is the endpoint class of a webhook.
	classes []uint8
	// wsIDs name workspaces in samples.
	wsIDs func(int) string

	mu         sync.Mutex
	measureAt  int64 // unix nanos: triggers from then on count in hist
	sessCounts []uint8
	leadCounts []uint8
	leadIDs    []int64
	// revealCounts[lead*len(rules)+rule] counts the contacts accepted for
	// a reveal rule and a lead (at most the rule's limit).
	revealCounts []uint16
	msgIDs       map[string]struct{}
	// contacts holds "WS/RULE/email" (email lower-cased) of every accepted
	// contact, up to maxContactKeys.
	contacts map[string]struct{}
	requests uint64
	subjects uint64
	byEvent  map[string]uint64
	// Received-side tallies, by event and by class.
	dups, redeliv, unexp [numClasses]map[string]uint64
	unexpSamples         []string
	conflicts            uint64
	contactN, contactDup uint64
	hist, window         latency.Histogram
}

// newChecker returns a checker of the traffic l records against rules;
// rv must index the contacts for the same rules (traffic.LoadReveals).
func newChecker(l *traffic.Ledger, d *traffic.Data, rv *traffic.Reveals, rules []traffic.Rule, classes []uint8, nws int, wsIDs func(int) string) *checker {
	c := &checker{ledger: l, data: d, reveals: rv, rules: rules, classes: classes, nws: nws, wsIDs: wsIDs,
		msgIDs: map[string]struct{}{}, contacts: map[string]struct{}{}, byEvent: map[string]uint64{}}
	for i := range numClasses {
		c.dups[i], c.redeliv[i], c.unexp[i] = map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
	}
	return c
}

// setMeasureStart makes triggers whose event came at or after t count in
// the reported latency distribution.
func (c *checker) setMeasureStart(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.measureAt = t.UnixNano()
}

// endpointOf parses the EndpointHeader value "WS/RULE".
func (c *checker) endpointOf(h string) (ws, rule int, ok bool) {
	a, b, found := bytes.Cut([]byte(h), []byte("/"))
	if !found {
		return 0, 0, false
	}
	ws, err1 := strconv.Atoi(string(a))
	rule, err2 := strconv.Atoi(string(b))
	if err1 != nil || err2 != nil || ws < 0 || ws >= c.nws || rule < 0 || rule >= len(c.rules) {
		return 0, 0, false
	}
	return ws, rule, true
}

// record takes one accepted webhook request.
func (c *checker) record(d Delivery) {
	ws, rule, ok := c.endpointOf(d.Header.Get(EndpointHeader))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	c.subjects += uint64(len(d.Subjects))
	c.byEvent[d.Event] += uint64(len(d.Subjects))
	if !ok {
		c.unexpected(classHealthy, d.Event, uint64(len(d.Subjects)), "request to an unknown endpoint "+d.Header.Get(EndpointHeader))
		return
	}
	class := c.classes[ws*len(c.rules)+rule]
	redelivered := false
	if id := d.Header.Get(headerWebhookID); id != "" {
		_, redelivered = c.msgIDs[id]
		if !redelivered && len(c.msgIDs) < maxMessageIDs {
			c.msgIDs[id] = struct{}{}
		}
	}
	for _, subj := range d.Subjects {
		switch d.Event {
		case schemas.EventNewLead, schemas.EventNewSession:
			c.recordLead(ws, rule, class, d.Event, subj, d.Arrived, redelivered)
		case schemas.EventContactRevealed, schemas.LegacyContactRevealed:
			c.recordContact(ws, rule, class, subj, d.Arrived, redelivered)
		default:
			c.unexpected(class, d.Event, 1, fmt.Sprintf("%s: unknown event %q", c.wsIDs(ws), d.Event))
		}
	}
}

// recordLead takes one new_lead or new_session subject.
func (c *checker) recordLead(ws, rule int, class uint8, event string, subj []byte, arrived time.Time, redelivered bool) {
	r := c.rules[rule]
	id, domain, marker, ok := parseLeadSubject(subj)
	if !ok {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s: subject without id, company domain or session marker", c.wsIDs(ws), event))
		return
	}
	if event != r.Event() {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s for %s at the webhook of a %s automation", c.wsIDs(ws), event, domain, describeRule(r)))
		return
	}
	company, ok := c.data.CompanyIndex(domain)
	if !ok {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s for %s: not a company of the data set", c.wsIDs(ws), event, domain))
		return
	}
	si, sess, ok := c.ledger.SessionByID(marker)
	if !ok {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s for %s: session %s is not a company session of this run (bot, ISP, unknown IP?)", c.wsIDs(ws), event, domain, marker))
		return
	}
	lead := c.ledger.Lead(int(sess.Lead))
	if int(lead.Workspace) != ws || int(lead.Company) != company {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s for %s: session %s belongs to %s %s", c.wsIDs(ws), event, domain, marker,
			c.wsIDs(int(lead.Workspace)), c.data.Companies[lead.Company].Domain))
		return
	}
	if !r.Matches(&c.data.Companies[company]) {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s for %s (%s): outside the automation's segment", c.wsIDs(ws), event, domain, c.data.Companies[company].Industry))
		return
	}
	n := len(c.rules)
	var cnt *uint8
	if event == schemas.EventNewLead {
		cnt = &grow(&c.leadCounts, (int(sess.Lead)+1)*n)[int(sess.Lead)*n+rule]
	} else {
		cnt = &grow(&c.sessCounts, (si+1)*n)[si*n+rule]
	}
	if *cnt == 0 {
		lat := arrived.Sub(sess.StartTime())
		c.window.Record(lat)
		if sess.Start >= c.measureAt {
			c.hist.Record(lat)
		}
	} else {
		c.dups[class][event]++
		if redelivered {
			c.redeliv[class][event]++
		}
	}
	if *cnt < 255 {
		*cnt++
	}
	ids := grow(&c.leadIDs, int(sess.Lead)+1)
	switch prev := ids[sess.Lead]; {
	case prev == 0:
		ids[sess.Lead] = id
	case prev != id:
		c.conflicts++
	}
}

// recordContact takes one contact_revealed subject at the webhook of rule
// in workspace ws. It is accepted when the rule reveals contacts, the
// subject's email is a contact of the company its company domain names
// and fits the persona, that company has a lead in ws (ledger) and is in
// the rule's segment, and fewer than the reveal limit were accepted for
// the (rule, lead) so far. A later subject with an accepted (ws, rule,
// email) is a duplicate, counted as a contact duplicate too (DESIGN 1.5:
// never twice in a workspace). Anything else is unexpected. The latency is
// from the start of the lead's first session, whose new_lead fired the
// reveal. Legacy "contacts.revealed" subjects count as contact_revealed.
func (c *checker) recordContact(ws, rule int, class uint8, subj []byte, arrived time.Time, redelivered bool) {
	const event = schemas.EventContactRevealed
	c.contactN++
	r := c.rules[rule]
	email, domain, ok := parseContactSubject(subj)
	if !ok {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s: subject without email or company domain", c.wsIDs(ws), event))
		return
	}
	if r.Reveal == nil {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s %s at the webhook of a %s automation", c.wsIDs(ws), event, email, describeRule(r)))
		return
	}
	key := strconv.Itoa(ws) + "/" + strconv.Itoa(rule) + "/" + strings.ToLower(email)
	if _, seen := c.contacts[key]; seen {
		c.contactDup++
		c.dups[class][event]++
		if redelivered {
			c.redeliv[class][event]++
		}
		return
	}
	company, ok := c.data.CompanyIndex(domain)
	if !ok {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s %s for %s: not a company of the data set", c.wsIDs(ws), event, email, domain))
		return
	}
	switch owner, fits := c.reveals.Contact(rule, email); {
	case !fits:
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s %s for %s: not a contact of the data set that fits the persona of automation %d", c.wsIDs(ws), event, email, domain, rule+1))
		return
	case owner != company:
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s %s for %s: a contact of %s", c.wsIDs(ws), event, email, domain, c.data.Companies[owner].Domain))
		return
	}
	li, ok := c.ledger.LeadFor(ws, company)
	if !ok {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s %s: %s has no lead in this workspace", c.wsIDs(ws), event, email, domain))
		return
	}
	co := &c.data.Companies[company]
	if !r.Matches(co) {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s %s for %s (%s): outside the automation's segment", c.wsIDs(ws), event, email, domain, co.Industry))
		return
	}
	n := len(c.rules)
	cnt := &grow(&c.revealCounts, (li+1)*n)[li*n+rule]
	if limit := r.Reveal.Limit; limit > 0 && int(*cnt) >= limit {
		c.unexpected(class, event, 1, fmt.Sprintf("%s %s %s: more than the reveal limit of %d for %s", c.wsIDs(ws), event, email, limit, domain))
		return
	}
	if *cnt < math.MaxUint16 {
		*cnt++
	}
	if len(c.contacts) < maxContactKeys {
		c.contacts[key] = struct{}{}
	}
	first := c.ledger.Session(int(c.ledger.Lead(li).FirstSession))
	lat := arrived.Sub(first.StartTime())
	c.window.Record(lat)
	if first.Start >= c.measureAt {
		c.hist.Record(lat)
	}
}

func (c *checker) unexpected(class uint8, event string, n uint64, sample string) {
	c.unexp[class][event] += n
	if len(c.unexpSamples) < maxSamples {
		c.unexpSamples = append(c.unexpSamples, sample)
	}
}

// grow makes *s at least n long (zero-filled) and returns it.
func grow[T uint8 | uint16 | int64](s *[]T, n int) []T {
	if len(*s) < n {
		if cap(*s) < n {
			ns := make([]T, n, max(2*cap(*s), n, 1024))
			copy(ns, *s)
			*s = ns
		} else {
			*s = (*s)[:n]
		}
	}
	return *s
}

// live are the checker's running counters.
type live struct {
	requests, subjects uint64
	// windowP50/P99 are of the subjects since the last call; 0 if none.
	windowP50, windowP99 time.Duration
	windowN              uint64
}

// counts returns the request and subject counters.
func (c *checker) counts() live {
	c.mu.Lock()
	defer c.mu.Unlock()
	return live{requests: c.requests, subjects: c.subjects}
}

// takeWindow returns the counters and empties the latency window.
func (c *checker) takeWindow() live {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := live{requests: c.requests, subjects: c.subjects, windowN: c.window.Count(),
		windowP50: c.window.Quantile(0.5), windowP99: c.window.Quantile(0.99)}
	c.window.Reset()
	return l
}

// latency returns the measured distribution.
func (c *checker) latency() report.Latency {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &c.hist
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	l := report.Latency{Count: h.Count(), MeanMs: ms(h.Mean()), P50Ms: ms(h.Quantile(0.5)), P90Ms: ms(h.Quantile(0.9)),
		P99Ms: ms(h.Quantile(0.99)), P999Ms: ms(h.Quantile(0.999)), MaxMs: ms(h.Max())}
	for _, b := range h.Buckets(40) {
		l.Buckets = append(l.Buckets, report.LatencyBucket{LowMs: ms(b.Low), HighMs: ms(b.High), Count: b.Count})
	}
	return l
}

// deliveries returns the request and subject counts.
func (c *checker) deliveries() (requests, subjects uint64, byEvent map[string]uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byEvent = make(map[string]uint64, len(c.byEvent))
	for k, v := range c.byEvent {
		byEvent[k] = v
	}
	return c.requests, c.subjects, byEvent
}

// result compares every expected trigger with what arrived so far.
func (c *checker) result() report.Correctness {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := report.Correctness{Checked: true, ByEvent: map[string]report.Counts{}, ByEndpoint: map[string]report.Counts{}}
	var byClass [numClasses]map[string]*report.Counts
	for i := range byClass {
		byClass[i] = map[string]*report.Counts{}
	}
	counts := func(class uint8, event string) *report.Counts {
		cc := byClass[class][event]
		if cc == nil {
			cc = &report.Counts{}
			byClass[class][event] = cc
		}
		return cc
	}
	n := len(c.rules)
	// expect counts want expected subjects of which got arrived (each
	// once; repeats are duplicates, counted when they arrive).
	expect := func(ws int, rule int, event string, want, got uint64, what func() string) {
		class := c.classes[ws*n+rule]
		cc := counts(class, event)
		got = min(got, want)
		cc.Expected += want
		cc.Delivered += got
		if got == want {
			return
		}
		cc.Missing += want - got
		if class != classFailing && len(out.MissingSample) < maxSamples {
			out.MissingSample = append(out.MissingSample, what())
		}
	}
	sessions, leads := c.ledger.Len()
	for li := range leads {
		lead := c.ledger.Lead(li)
		first := c.ledger.Session(int(lead.FirstSession))
		if c.ledger.Failed(first.Seq) {
			continue
		}
		co := &c.data.Companies[lead.Company]
		for ri, r := range c.rules {
			if r.Trigger != schemas.EventNewLead || !r.Matches(co) {
				continue
			}
			if r.Reveal != nil {
				c.expectReveals(li, ri, expect)
				continue
			}
			var got uint8
			if i := li*n + ri; i < len(c.leadCounts) {
				got = c.leadCounts[i]
			}
			expect(int(lead.Workspace), ri, r.Trigger, 1, uint64(got), func() string {
				return fmt.Sprintf("%s new_lead %s (automation %d, first session %s)", c.wsIDs(int(lead.Workspace)), co.Domain, ri+1, c.ledger.SessionID(first.Seq))
			})
		}
	}
	for si := range sessions {
		s := c.ledger.Session(si)
		if c.ledger.Failed(s.Seq) {
			continue
		}
		lead := c.ledger.Lead(int(s.Lead))
		co := &c.data.Companies[lead.Company]
		for ri, r := range c.rules {
			if r.Trigger != schemas.EventNewSession || r.Reveal != nil || !r.Matches(co) {
				continue
			}
			var got uint8
			if i := si*n + ri; i < len(c.sessCounts) {
				got = c.sessCounts[i]
			}
			expect(int(lead.Workspace), ri, r.Trigger, 1, uint64(got), func() string {
				return fmt.Sprintf("%s new_session %s of %s (automation %d)", c.wsIDs(int(lead.Workspace)), c.ledger.SessionID(s.Seq), co.Domain, ri+1)
			})
		}
	}
	for class := range numClasses {
		for ev, v := range c.dups[class] {
			counts(class, ev).Duplicates += v
		}
		for ev, v := range c.redeliv[class] {
			counts(class, ev).Redelivered += v
		}
		for ev, v := range c.unexp[class] {
			counts(class, ev).Unexpected += v
		}
		for ev, cc := range byClass[class] {
			e := out.ByEvent[ev]
			e.Add(*cc)
			out.ByEvent[ev] = e
			k := out.ByEndpoint[classNames[class]]
			k.Add(*cc)
			out.ByEndpoint[classNames[class]] = k
			out.Total.Add(*cc)
		}
	}
	out.UnexpectedSample = append([]string(nil), c.unexpSamples...)
	out.LeadIDConflicts = c.conflicts
	out.ProduceAffected, _ = c.ledger.FailedSessions()
	out.Contacts, out.ContactDuplicates = c.contactN, c.contactDup
	missingOK := out.ByEndpoint[classNames[classFailing]].Missing
	out.Pass = out.Total.Missing == missingOK && out.Total.Unexpected == 0 && out.LeadIDConflicts == 0 && out.ContactDuplicates == 0
	if missingOK > 0 {
		out.Note = fmt.Sprintf("%d subjects to failing endpoints are missing (their retries come after 1 min and more); they do not fail the check", missingOK)
	}
	return out
}

// expectReveals counts the contact_revealed subjects reveal rule ri should
// send for lead li (in its segment): the contacts of the lead's company
// that fit the persona, at most the reveal limit. Called by result with
// c.mu held.
func (c *checker) expectReveals(li, ri int, expect func(ws, rule int, event string, want, got uint64, what func() string)) {
	lead := c.ledger.Lead(li)
	r := c.rules[ri]
	want := r.Reveal.Expect(c.reveals.Fitting(ri, int(lead.Company)))
	if want == 0 {
		return
	}
	var got uint16
	if i := li*len(c.rules) + ri; i < len(c.revealCounts) {
		got = c.revealCounts[i]
	}
	expect(int(lead.Workspace), ri, schemas.EventContactRevealed, uint64(want), uint64(got), func() string {
		first := c.ledger.Session(int(lead.FirstSession))
		return fmt.Sprintf("%s contact_revealed %s: %d of %d contacts (automation %d, first session %s)", c.wsIDs(int(lead.Workspace)),
			c.data.Companies[lead.Company].Domain, got, want, ri+1, c.ledger.SessionID(first.Seq))
	})
}

// missingHealthy counts expected triggers of healthy and slow endpoints
// not delivered yet (for the drain: stop waiting once it is 0).
func (c *checker) missingHealthy() uint64 {
	r := c.result()
	return r.Total.Missing - r.ByEndpoint[classNames[classFailing]].Missing
}

// parseLeadSubject reads a lead subject's id, company domain and the
// session marker of its newest session (recent_sessions[0]), by scanning
// the subject's bytes (the key order is fixed by DESIGN 1.3); if the scan
// fails it decodes the JSON.
func parseLeadSubject(subj []byte) (id int64, domain string, marker []byte, ok bool) {
	if rest, found := bytes.CutPrefix(subj, []byte(`{"id":`)); found {
		end := bytes.IndexAny(rest, ",}")
		if end > 0 {
			id, _ = strconv.ParseInt(string(rest[:end]), 10, 64)
		}
	}
	domain = jsonStringAfter(subj, `"domain":"`)
	if i := bytes.Index(subj, []byte(`"recent_sessions":[`)); i >= 0 {
		marker = traffic.ParseMarker(subj[i:])
	}
	if id != 0 && domain != "" && len(marker) > 0 {
		return id, domain, marker, true
	}
	var l struct {
		ID      int64 `json:"id"`
		Company struct {
			Domain string `json:"domain"`
		} `json:"company"`
		RecentSessions []struct {
			Pageviews []struct {
				URL string `json:"url"`
			} `json:"pageviews"`
		} `json:"recent_sessions"`
	}
	if err := json.Unmarshal(subj, &l); err != nil || len(l.RecentSessions) == 0 {
		return 0, "", nil, false
	}
	for _, pv := range l.RecentSessions[0].Pageviews {
		if m := traffic.ParseMarker([]byte(pv.URL)); len(m) > 0 {
			return l.ID, l.Company.Domain, m, l.ID != 0 && l.Company.Domain != ""
		}
	}
	return 0, "", nil, false
}

// parseContactSubject reads a contact subject's email and company domain
// by scanning its bytes (email comes before company, whose only domain key
// is company.domain; DESIGN 1.3); if the scan fails it decodes the JSON.
func parseContactSubject(subj []byte) (email, domain string, ok bool) {
	email, domain = jsonStringAfter(subj, `"email":"`), jsonStringAfter(subj, `"domain":"`)
	if email != "" && domain != "" {
		return email, domain, true
	}
	var ct struct {
		Email   string `json:"email"`
		Company struct {
			Domain string `json:"domain"`
		} `json:"company"`
	}
	if err := json.Unmarshal(subj, &ct); err != nil {
		return "", "", false
	}
	return ct.Email, ct.Company.Domain, ct.Email != "" && ct.Company.Domain != ""
}

// jsonStringAfter returns the simple (unescaped) JSON string value that
// follows the first occurrence of prefix (which ends with the opening
// quote), or "".
func jsonStringAfter(b []byte, prefix string) string {
	i := bytes.Index(b, []byte(prefix))
	if i < 0 {
		return ""
	}
	rest := b[i+len(prefix):]
	end := bytes.IndexAny(rest, `"\`)
	if end < 0 || rest[end] != '"' {
		return ""
	}
	return string(rest[:end])
}
