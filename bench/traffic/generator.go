package traffic

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// Kind is what kind of visitor an event comes from.
type Kind uint8

// Kinds of events.
const (
	// KindCompany is a visitor from a company's business network: the
	// only kind that makes leads.
	KindCompany Kind = iota
	// KindISP is a visitor from a consumer or mobile ISP network
	// (192.0.2.0/24 among them).
	KindISP
	// KindHosting is a visitor from a data-centre network.
	KindHosting
	// KindEducation is a visitor from a school or university network.
	KindEducation
	// KindUnknown is a visitor from an address in no network of the set.
	KindUnknown
	// KindBot is a crawler (its user agent names a bot), from a hosting or
	// a business network.
	KindBot
	// KindMalformed is deliberately bad input.
	KindMalformed
	// NumKinds is the number of kinds.
	NumKinds
)

// String returns the kind's name, e.g. "company".
func (k Kind) String() string {
	switch k {
	case KindCompany:
		return "company"
	case KindISP:
		return "isp"
	case KindHosting:
		return "hosting"
	case KindEducation:
		return "education"
	case KindUnknown:
		return "unknown"
	case KindBot:
		return "bot"
	case KindMalformed:
		return "malformed"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Event describes the event Next wrote.
type Event struct {
	// Kind is the visitor's kind (KindMalformed for bad input).
	Kind Kind
	// Key is the record key, the session_id. It is valid until the next
	// call of Next; copy it to keep it.
	Key []byte
	// Type is schemas.TypePageview or TypePing; "" for malformed events.
	Type string
	// NewSession is set on a session's first event.
	NewSession bool
	// SessionSeq is the session's sequence number.
	SessionSeq uint64
	// Workspace is the workspace's index.
	Workspace int
	// Company is the index in Data.Companies of the visitor's company (for
	// KindCompany, and bots from a business network), else -1.
	Company int
}

// Limits of generated sessions.
const (
	maxPageviews     = 50
	maxPings         = 120
	maxExtraSessions = 100
	maxReturning     = 1 << 20
)

// Shares of the non-company, non-bot sessions.
const (
	shareISP       = 0.55
	shareHosting   = 0.15
	shareEducation = 0.10 // the rest (0.20) are unknown addresses
	// botFromBusiness is the share of bots that come from a business
	// network (they must still make no lead).
	botFromBusiness = 0.2
)

// unknownV4 and unknownV6 hold addresses that are in no network of a
// sample data set (which uses only documentation ranges, 240.0.0.0/4 and
// 2001:db8::/32).
var (
	unknownV4 = dataset.NetworkRecord{Network: netip.MustParsePrefix("11.0.0.0/8")}
	unknownV6 = dataset.NetworkRecord{Network: netip.MustParsePrefix("3fff::/20")}
)

// visitor is one browser (or crawler).
type visitor struct {
	seq          uint64
	kind         Kind
	ws           int32
	company      int32 // -1 unless from a business network
	ua           int16 // humanAgents index, or botAgents index for bots
	sessionsLeft int32 // sessions still to come after the current one
	guide        bool  // the guide's Netcontrol visitor, before its session
	addr         netip.Addr
}

// session is one visit in flight.
type session struct {
	v         *visitor
	seq       uint64
	click     uint64 // ad click id
	timeSpent int64  // current page's seconds so far
	src       uint8  // index in sources
	ref       uint8  // index in the source's referrers
	query     uint16 // index in the source's queries
	page      int16  // current page's path index
	prevPage  int16  // previous page's path index
	pageNo    int16  // pageviews so far
	pagesLeft int16  // pageviews still to come
	pings     int16  // pings on the current page
	guide     bool   // the guide's Netcontrol visit
}

// returningVisitor waits in the returning queue until due (a count of
// session starts).
type returningVisitor struct {
	v   *visitor
	due uint64
}

// Generator produces raw events. Create it with New; it is not safe for
// concurrent use (see the package doc).
type Generator struct {
	cfg       Config
	data      *Data
	rng       *rand.Rand
	companies int // companies in use (a prefix of data.Companies)
	wsJSON    [][]byte
	sites     [][]byte
	sources   []source
	srcCum    []int
	uaCum     []int
	navCum    []int
	runHash   uint64
	sessPfx   string
	visPfx    string
	malPfx    string

	active    []*session
	free      []*session
	returning []returningVisitor // ring buffer
	retHead   int
	retLen    int

	nextSession, nextVisitor, nextEvent, started uint64
	guideLeft                                    int

	pMorePages, pMorePings, pReturn float64
	ledger                          *Ledger
	key                             []byte
	scratch                         []byte
}

// New returns a Generator for cfg (after Defaults) over data.
func New(cfg Config, data *Data) (*Generator, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:       cfg,
		data:      data,
		rng:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7472_6166_6669_63)), // "traffic"
		companies: len(data.Companies),
		sources:   newSources(),
		runHash:   runHash(cfg.Seed, cfg.RunID),
		sessPfx:   idPrefix("s", cfg.RunID),
		visPfx:    idPrefix("v", cfg.RunID),
		malPfx:    idPrefix("m", cfg.RunID),
		active:    make([]*session, cfg.ActiveSessions),
		returning: make([]returningVisitor, min(4*cfg.ActiveSessions, maxReturning)),
	}
	if cfg.Companies > 0 && cfg.Companies < g.companies {
		g.companies = cfg.Companies
	}
	for i := range cfg.Workspaces {
		id := idPrefix("ws", cfg.RunID) + strconv.Itoa(i+1)
		if len(cfg.WorkspaceIDs) > 0 {
			id = cfg.WorkspaceIDs[i]
		}
		b, _ := json.Marshal(id) // a string always encodes
		g.wsJSON = append(g.wsJSON, b)
	}
	for range cfg.Workspaces {
		host := "www." + siteFirst[g.rng.IntN(len(siteFirst))] + siteSecond[g.rng.IntN(len(siteSecond))] + "." + siteTLD[g.rng.IntN(len(siteTLD))]
		g.sites = append(g.sites, []byte(host))
	}
	g.srcCum = cumulative(len(g.sources), func(i int) int { return g.sources[i].weight })
	g.uaCum = cumulative(len(humanAgents), func(i int) int { return humanAgents[i].weight })
	g.navCum = cumulative(len(navPaths), func(i int) int { return navWeights[i] })
	p := cfg.PageviewsPerSession
	g.pMorePages = (p - 1) / p
	g.pMorePings = cfg.PingShare
	g.pReturn = (cfg.SessionsPerVisitor - 1) / cfg.SessionsPerVisitor
	if cfg.GuideFirst {
		g.guideLeft = 2
	}
	if cfg.Track {
		g.ledger = newLedger(cfg.RunID)
	}
	return g, nil
}

// Ledger returns the generator's ledger, or nil without Config.Track.
func (g *Generator) Ledger() *Ledger { return g.ledger }

// Config returns the generator's configuration with defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// WorkspaceID returns the id of workspace i.
func (g *Generator) WorkspaceID(i int) string {
	var s string
	_ = json.Unmarshal(g.wsJSON[i], &s) // encoded by New
	return s
}

// Site returns the host of workspace i's web site.
func (g *Generator) Site(i int) string { return string(g.sites[i]) }

// cumulative returns the running sums of n weights.
func cumulative(n int, w func(int) int) []int {
	out := make([]int, n)
	sum := 0
	for i := range n {
		sum += w(i)
		out[i] = sum
	}
	return out
}

// pick returns an index drawn with the weights behind cum.
func (g *Generator) pick(cum []int) int {
	x := g.rng.IntN(cum[len(cum)-1])
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// geometric returns how many times an event of probability p happens in a
// row, at most limit.
func (g *Generator) geometric(p float64, limit int) int {
	n := 0
	for n < limit && g.rng.Float64() < p {
		n++
	}
	return n
}

// Next appends the next event's JSON to dst at time now (its timestamp)
// and describes it.
func (g *Generator) Next(dst []byte, now time.Time) ([]byte, Event) {
	if g.cfg.MalformedShare > 0 && g.rng.Float64() < g.cfg.MalformedShare {
		return g.malformed(dst, now)
	}
	slot := g.rng.IntN(len(g.active))
	s := g.active[slot]
	first := s == nil
	if first {
		s = g.startSession(now)
		g.active[slot] = s
	}
	ev := Event{Kind: s.v.kind, NewSession: first, SessionSeq: s.seq, Workspace: int(s.v.ws), Company: int(s.v.company)}
	g.key = appendHex(append(g.key[:0], g.sessPfx...), s.seq)
	ev.Key = g.key
	if first || s.pings < 0 {
		ev.Type = schemas.TypePageview
	} else {
		ev.Type = schemas.TypePing
	}
	dst = g.appendEvent(dst, s, ev.Type, now)
	if g.advance(s) {
		g.endSession(s)
		g.active[slot] = nil
	}
	return dst, ev
}

// startSession starts a session of a returning or a new visitor.
func (g *Generator) startSession(now time.Time) *session {
	var v *visitor
	if g.retLen > 0 && g.returning[g.retHead].due <= g.started {
		v = g.returning[g.retHead].v
		g.returning[g.retHead] = returningVisitor{}
		g.retHead = (g.retHead + 1) % len(g.returning)
		g.retLen--
	} else {
		v = g.newVisitor()
	}
	g.started++
	var s *session
	if n := len(g.free); n > 0 {
		s = g.free[n-1]
		g.free = g.free[:n-1]
		*s = session{}
	} else {
		s = &session{}
	}
	s.v = v
	s.seq = g.nextSession
	g.nextSession++
	s.prevPage = -1
	s.pageNo = 1
	if v.kind == KindBot {
		s.page = int16(g.rng.IntN(len(paths)))
		s.pagesLeft = int16(g.geometric(2.0/3, maxPageviews-1))
	} else {
		s.src = uint8(g.pick(g.srcCum))
		src := &g.sources[s.src]
		s.ref = uint8(g.rng.IntN(len(src.referrers)))
		s.query = uint16(g.rng.IntN(len(src.queries)))
		s.page = src.landings[g.rng.IntN(len(src.landings))]
		if src.clickID != "" {
			s.click = g.rng.Uint64()
		}
		s.pagesLeft = int16(g.geometric(g.pMorePages, maxPageviews-1))
	}
	if v.guide { // the guide's new_lead visit: one pageview, one ping
		s.guide, s.pagesLeft, v.guide = true, 0, false
	}
	s.pings = -1 // at a fresh pageview
	if v.kind == KindCompany && g.ledger != nil {
		g.ledger.add(int(v.ws), int(v.company), s.seq, now)
	}
	return s
}

// advance decides what comes after the event just written: another ping,
// the next pageview, or the end (true).
func (g *Generator) advance(s *session) bool {
	if s.guide {
		if s.pings < 0 { // the guide's pageview is followed by one 14 s ping
			s.pings, s.timeSpent = 0, 14
			return false
		}
		return true
	}
	if s.v.kind != KindBot && s.pings < maxPings && g.rng.Float64() < g.pMorePings {
		if s.pings < 1 { // the page's first ping: a 5 to 15 s heartbeat
			s.pings, s.timeSpent = 1, 5+g.rng.Int64N(11)
		} else {
			s.pings++
			s.timeSpent += 10 + g.rng.Int64N(11)
		}
		return false
	}
	if s.pagesLeft == 0 {
		return true
	}
	s.pagesLeft--
	s.pageNo++
	s.prevPage = s.page
	if s.v.kind == KindBot {
		s.page = int16(g.rng.IntN(len(paths)))
	} else {
		s.page = navPaths[g.pick(g.navCum)]
	}
	s.pings, s.timeSpent = -1, 0
	return false
}

// endSession frees s and queues its visitor to come back if it has more
// sessions.
func (g *Generator) endSession(s *session) {
	v := s.v
	if v.sessionsLeft > 0 && g.retLen < len(g.returning) {
		v.sessionsLeft--
		delay := uint64(len(g.active)) + uint64(g.rng.IntN(3*len(g.active)+1))
		g.returning[(g.retHead+g.retLen)%len(g.returning)] = returningVisitor{v: v, due: g.started + delay}
		g.retLen++
	}
	s.v = nil
	g.free = append(g.free, s)
}

// newVisitor makes a visitor of a kind drawn with the configured shares.
func (g *Generator) newVisitor() *visitor {
	r := g.rng
	ws := int32(r.IntN(len(g.wsJSON)))
	if g.cfg.HotWorkspaceShare > 0 && r.Float64() < g.cfg.HotWorkspaceShare {
		ws = 0 // the large customer
	}
	v := &visitor{seq: g.nextVisitor, ws: ws, company: -1}
	g.nextVisitor++
	if g.guideLeft > 0 {
		if v2 := g.guideVisitor(v); v2 != nil {
			return v2
		}
	}
	x := r.Float64()
	switch {
	case x < g.cfg.BotShare:
		v.kind = KindBot
		v.ua = int16(r.IntN(len(botAgents)))
		if r.Float64() < botFromBusiness {
			v.company = int32(r.IntN(g.companies))
			v.addr = g.companyAddr(int(v.company))
		} else {
			v.addr = hostAddr(g.data.Hosting, r)
		}
		return v // crawlers keep no cookie: they never return
	case x < g.cfg.BotShare+g.cfg.IdentifiableShare:
		v.kind = KindCompany
		v.company = int32(r.IntN(g.companies))
		v.addr = g.companyAddr(int(v.company))
	default:
		switch y := r.Float64(); {
		case y < shareISP:
			v.kind, v.addr = KindISP, hostAddr(g.data.ISP, r)
		case y < shareISP+shareHosting:
			v.kind, v.addr = KindHosting, hostAddr(g.data.Hosting, r)
		case y < shareISP+shareHosting+shareEducation:
			v.kind, v.addr = KindEducation, hostAddr(g.data.Education, r)
		default:
			v.kind = KindUnknown
			if r.IntN(10) == 0 {
				v.addr = unknownV6.HostAddr(r.Uint64())
			} else {
				v.addr = unknownV4.HostAddr(r.Uint64())
			}
		}
	}
	v.ua = int16(g.pick(g.uaCum))
	v.sessionsLeft = int32(g.geometric(g.pReturn, maxExtraSessions))
	return v
}

// guideVisitor turns v into the next of the guide's visitors (Netcontrol,
// then MDX), or returns nil when the data set (or Config.Companies) lacks it.
func (g *Generator) guideVisitor(v *visitor) *visitor {
	netcontrol := schemas.GuideNetcontrol().Domain
	domain := netcontrol
	if g.guideLeft == 1 {
		domain = schemas.GuideMDX().Domain
	}
	g.guideLeft--
	ci, ok := g.data.CompanyIndex(domain)
	if !ok || ci >= g.companies {
		return nil
	}
	v.kind, v.company, v.ws, v.ua, v.guide = KindCompany, int32(ci), 0, guideAgent, domain == netcontrol
	// The first IPv4 network (198.51.100.0/24 for Netcontrol, 203.0.113.0/24
	// for MDX), address .23 as in the guide.
	for _, n := range g.data.Companies[ci].Networks {
		if n.Network.Addr().Is4() {
			v.addr = n.HostAddr(22)
			break
		}
	}
	if !v.addr.IsValid() {
		v.addr = g.companyAddr(ci)
	}
	return v
}

// companyAddr returns a random address in one of company i's networks.
func (g *Generator) companyAddr(i int) netip.Addr {
	return hostAddr(g.data.Companies[i].Networks, g.rng)
}

func hostAddr(nets []dataset.NetworkRecord, r *rand.Rand) netip.Addr {
	return nets[r.IntN(len(nets))].HostAddr(r.Uint64())
}
