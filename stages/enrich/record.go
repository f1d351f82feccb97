package enrich

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/enrich/ipdb"
	"github.com/leadflow/leadflow/stages/enrich/useragent"
)

// Output keys and values are encoded in the batch's output slabs
// (pipeline.Batch.Grow), and output records are taken from a shared
// record slab, so that a record costs no allocation of its own. Emitted
// records keep pointing into the record slab until Kafka has them; its
// unused tail is still free for the next records, so a worker keeps
// filling one across batches and allocates the next when it is full.
const (
	recordSlabSize = 256
	// hitOverhead bounds what a hit adds to its raw event besides the URL
	// parts (host, path and UTM values, each at most the URL again):
	// location, browser/OS/device, domain, network type, key: the room a
	// hit asks of the output slab. A hit that still does not fit (JSON
	// escapes) moves out of it: correct, one allocation.
	hitOverhead = 512
)

// worker is the per-call state of process: it is used by one goroutine at
// a time and pooled between calls.
type worker struct {
	s       *Stage
	snap    ipdb.Snapshot
	ev      schemas.RawEvent
	recs    []kgo.Record // record slab: len is what is in use
	claimed []string     // domains this call claimed in s.sent
	window  timeWindow   // event times accepted in this call
	counts  counts
}

// record enriches one raw event and emits its outputs, or drops it, or
// dead-letters it.
func (w *worker) record(rec *kgo.Record, out sink) {
	s := w.s
	ev := &w.ev
	if err := s.dec.Decode(rec.Value, ev); err != nil {
		out.DeadLetter(rec, &BadEventError{Err: err})
		return
	}
	if err := w.window.check(ev.Time); err != nil {
		out.DeadLetter(rec, &BadEventError{Err: err})
		return
	}
	agent, bot := w.agent(ev.UserAgent)
	if bot {
		w.counts.dropped[dropBot]++
		return
	}
	n, err := w.snap.Lookup(ev.Addr)
	switch {
	case err != nil:
		w.counts.dropped[dropBadIPRecord]++ // logged by ipdb once per record
		return
	case n == nil:
		w.counts.dropped[dropUnknownIP]++
		return
	}
	switch n.Type {
	case schemas.NetworkBusiness:
		if n.Domain == "" {
			w.counts.dropped[dropNoDomain]++
			return
		}
	case schemas.NetworkISP:
		w.counts.dropped[dropISP]++
		return
	case schemas.NetworkHosting:
		w.counts.dropped[dropHosting]++
		return
	case schemas.NetworkEducation:
		w.counts.dropped[dropEducation]++
		return
	default:
		w.counts.dropped[dropOtherNetwork]++
		return
	}

	if s.sent.AddIfAbsent(n.Domain, struct{}{}) {
		w.counts.cacheMiss[cacheCompany]++
		w.claimed = append(w.claimed, n.Domain)
		w.emitCompany(n.Domain, out)
	} else {
		w.counts.cacheHit[cacheCompany]++
	}

	h := ev.Hit()
	h.Browser = agent.Browser
	h.OperatingSystem = agent.OperatingSystem
	h.DeviceType = agent.DeviceType
	h.Location = n.Location
	h.CompanyDomain = n.Domain
	h.NetworkType = n.Type
	key := out.Keep(h.AppendKey(out.Grow(len(h.WorkspaceID) + len(h.CompanyDomain) + 1)))
	val := out.Keep(h.AppendJSON(out.Grow(len(rec.Value) + 3*len(ev.URL) + hitOverhead)))
	r := w.newRecord()
	r.Topic, r.Key, r.Value = s.topics.Hits, key, val
	out.Emit(r)
	w.counts.hits++
}

// agent returns the parsed User-Agent, and whether the event is a bot.
func (w *worker) agent(ua string) (useragent.Agent, bool) {
	s := w.s
	if ua == "" {
		return useragent.Agent{}, s.cfg.DropEmptyUserAgent
	}
	if a, ok := s.agents.Get(ua); ok {
		w.counts.cacheHit[cacheUserAgent]++
		return a, a.Bot
	}
	w.counts.cacheMiss[cacheUserAgent]++
	a := useragent.Parse(ua)
	// Clone: ua shares its memory with the whole raw event (up to
	// max_event_bytes), which the cache must not keep alive.
	s.agents.Add(strings.Clone(ua), a)
	return a, a.Bot
}

// emitCompany emits the company record of domain (key domain, value the
// schemas.Company JSON with phone) to the companies topic. A domain the
// companies data does not have gets a minimal record, name = domain and
// every other field null, so that the leads stage always finds one.
func (w *worker) emitCompany(domain string, out sink) {
	s := w.s
	c, ok := s.companies.Company(domain)
	if !ok {
		c = schemas.Company{Name: domain, Domain: domain}
		w.counts.companyUnknown++
		if s.unknownWarned.CompareAndSwap(false, true) {
			s.log.Warn("business domain from the IP database is not in the companies data; sending a minimal "+
				"company record (name = domain). Further ones are logged at debug level and counted in "+
				"leadflow_enrich_company_unknown_total", zap.String("domain", domain))
		} else {
			s.log.Debug("business domain is not in the companies data", zap.String("domain", domain))
		}
	}
	key := out.Keep(append(out.Grow(len(domain)), domain...))
	val := out.Keep(c.AppendJSON(out.Grow(2048)))
	r := w.newRecord()
	r.Topic, r.Key, r.Value = s.topics.Companies, key, val
	out.Emit(r)
	w.counts.companiesSent++
}

// newRecord returns a zero record from the record slab.
func (w *worker) newRecord() *kgo.Record {
	if len(w.recs) == cap(w.recs) {
		w.recs = make([]kgo.Record, 0, recordSlabSize)
	}
	w.recs = w.recs[:len(w.recs)+1]
	return &w.recs[len(w.recs)-1]
}
