package leads

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/schemas"
)

// SessionStore completes lead subjects: a lead change carries its changed
// session whole and the subject's other recent sessions by reference
// (schemas.LeadChange.OlderSessions), and SessionStore reads those
// sessions' facts and pageviews from the lead's state in Redis. They are
// immutable once written (only the numbers and time_spent change, and the
// reference carries those), so the subject is rebuilt exactly as it was
// at the change, and what was read is cached. It is safe for concurrent
// use.
//
// A part can be gone from Redis: the leads stage deletes a session's
// fields once the session falls out of the lead's max_sessions, and a
// pageview's once it slides out of max_pageviews, which needs many more
// hits of the lead than a live pipeline lags behind. A missing session
// is left out of the subject, a missing pageview out of its session, and
// Complete counts them.
type SessionStore struct {
	rdb    redis.UniversalClient
	prefix string

	mu    sync.Mutex
	max   int
	cache map[partKey]any // *sessionMeta or *pageview
}

// partKey names a stored session part: the lead's Redis key and id (a lead
// forgotten after lead_ttl and seen again gets a new id, and numbers its
// sessions from 1 again) and the field.
type partKey struct {
	rkey  string
	id    int64
	field string
}

// NewSessionStore returns a SessionStore reading the lead states that the
// leads stage keeps under keyPrefix (config redis.key_prefix), caching up
// to cacheSize session parts (0: none).
func NewSessionStore(rdb redis.UniversalClient, keyPrefix string, cacheSize int) *SessionStore {
	return &SessionStore{rdb: rdb, prefix: keyPrefix, max: cacheSize, cache: make(map[partKey]any)}
}

// ErrSessionRead wraps the Redis failures of Complete.
var ErrSessionRead = errors.New("leads: reading sessions")

// Complete appends to each change's Lead.RecentSessions the sessions its
// OlderSessions refer to, in order, and clears OlderSessions; changes
// without references are left as they are, and a change may be passed
// more than once. What is not cached is read in one pipelined round trip.
// It returns how many sessions and pageviews were missing from Redis (see
// SessionStore); err is a Redis failure, after which no change is altered.
func (s *SessionStore) Complete(ctx context.Context, chs []*schemas.LeadChange) (missing int, err error) {
	type read struct {
		rkey   string
		id     int64
		fields []string
		cmd    *redis.SliceCmd
	}
	var reads []*read
	byKey := make(map[string]*read)
	for _, ch := range chs {
		if len(ch.OlderSessions) == 0 {
			continue
		}
		rkey := s.redisKey(ch.LeadKey)
		rd := byKey[rkey]
		for _, ref := range ch.OlderSessions {
			fields := partFields(ref)
			for _, f := range fields {
				if _, ok := s.cached(partKey{rkey, ch.Lead.ID, f}); ok {
					continue
				}
				if rd == nil {
					rd = &read{rkey: rkey, id: ch.Lead.ID}
					byKey[rkey] = rd
					reads = append(reads, rd)
				}
				rd.fields = append(rd.fields, f)
			}
		}
	}
	got := make(map[partKey]any)
	if len(reads) > 0 {
		pipe := s.rdb.Pipeline()
		for _, rd := range reads {
			rd.cmd = pipe.HMGet(ctx, rd.rkey, rd.fields...)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return 0, fmt.Errorf("%w: %w", ErrSessionRead, err)
		}
		for _, rd := range reads {
			vals, err := rd.cmd.Result()
			if err != nil {
				return 0, fmt.Errorf("%w: %s: %w", ErrSessionRead, rd.rkey, err)
			}
			for i, v := range vals {
				raw, ok := v.(string)
				if !ok {
					continue // missing
				}
				k := partKey{rd.rkey, rd.id, rd.fields[i]}
				part, err := decodePart(rd.fields[i], raw)
				if err != nil {
					continue // unusable: counted as missing
				}
				got[k] = part
				s.put(k, part)
			}
		}
	}
	for _, ch := range chs {
		if len(ch.OlderSessions) == 0 {
			continue
		}
		rkey := s.redisKey(ch.LeadKey)
		lookup := func(f string) any {
			k := partKey{rkey, ch.Lead.ID, f}
			if p, ok := got[k]; ok {
				return p
			}
			p, _ := s.cached(k)
			return p
		}
		sessions := ch.Lead.RecentSessions
		for _, ref := range ch.OlderSessions {
			m, _ := lookup(metaField(uint64(ref.Seq))).(*sessionMeta)
			if m == nil {
				missing++
				continue
			}
			ss := schemas.Session{StartedAt: schemas.SessionTime{Time: time.UnixMicro(ref.StartedAt)},
				Source: m.source, Browser: m.browser, DeviceType: m.device, OperatingSystem: m.os,
				TotalDuration: ref.TotalDuration, Location: m.loc, Pageviews: []schemas.Pageview{}}
			first := ref.Pageviews - int64(len(ref.TimeSpent))
			for i, spent := range ref.TimeSpent {
				pv, _ := lookup(pageviewField(uint64(ref.Seq), uint64(first+int64(i)))).(*pageview)
				if pv == nil {
					missing++
					continue
				}
				ss.Pageviews = append(ss.Pageviews, schemas.Pageview{URL: pv.url, Host: pv.host, Path: pv.path,
					TimeSpent: spent, VisitedAt: schemas.SessionTime{Time: time.UnixMicro(pv.visitedAt)}})
			}
			sessions = append(sessions, ss)
		}
		ch.Lead.RecentSessions, ch.OlderSessions = sessions, nil
	}
	return missing, nil
}

// redisKey is the Redis key of a lead (store.redisKey).
func (s *SessionStore) redisKey(leadKey string) string {
	return s.prefix + "lead:{" + leadKey + "}"
}

// partFields names the stored fields of ref's facts and shown pageviews.
func partFields(ref schemas.SessionRef) []string {
	seq := uint64(ref.Seq)
	fields := make([]string, 0, 1+len(ref.TimeSpent))
	fields = append(fields, metaField(seq))
	first := ref.Pageviews - int64(len(ref.TimeSpent))
	for i := range ref.TimeSpent {
		fields = append(fields, pageviewField(seq, uint64(first+int64(i))))
	}
	return fields
}

// decodePart decodes the stored value of a session field.
func decodePart(field, raw string) (any, error) {
	if field[0] == 's' {
		return decodeMeta(raw)
	}
	if field[0] == 'p' {
		return decodePageview(raw)
	}
	return nil, errCorrupt
}

func (s *SessionStore) cached(k partKey) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.cache[k]
	return p, ok
}

// put caches a part; when the cache is full it starts over.
func (s *SessionStore) put(k partKey, part any) {
	if s.max == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= s.max {
		clear(s.cache)
	}
	s.cache[k] = part
}
