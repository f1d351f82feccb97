package leadstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The evaluate stage's claims (once per automation and lead for new_lead,
// once per automation and session for new_session) are entries of one
// field of the lead's hash, ClaimsField: claimsFormat, then claimEntry
// bytes per claim:
//
//	0..7    the claim's id: the 64-bit FNV-1a hash of its name
//	        (ClaimName: "fired:AUTOMATION" or "fired:AUTOMATION:LEADID:SEQ")
//	8..11   the session number SEQ (uint32; 0 for a new_lead claim)
//	12..15  the low 32 bits of LEADID (0 for a new_lead claim)
//	16..23  the owner: the 64-bit FNV-1a hash of the event id that claimed
//
// all little-endian. A claim was a field of its own before 2026-12-04 (named
// ClaimName, holding the owner's hash or, before that, the event id);
// such fields are still honoured (ClaimAll reads them first) and the
// leads stage still drops a session's with its session (SessionOfClaim).
// One field instead of one per claim saves a hashtable-encoded hash about
// 100 bytes per claim (a field's entry, its name and value allocations).
//
// Only the scripts below write ClaimsField: Redis runs each atomically, so
// a claim and a prune never lose each other's entries.
const (
	ClaimsField  = "c:"
	claimsFormat = 1
	claimEntry   = 24
)

// Claim results.
const (
	ClaimTaken = 0 // someone else claimed it first: do not fire
	ClaimNew   = 1 // this call claimed it: fire
	ClaimOwn   = 2 // claimed before by the same owner (a replay): fire again
)

// Claim is one claim for ClaimAll to make; Result is set by it.
type Claim struct {
	Key        string        // the lead's hash (LeadRedisKey)
	Automation string        // the automation's id
	SessionKey string        // "LEADID:SEQ" (AppendSessionKey) for new_session, "" for new_lead
	Owner      string        // the event id that claims
	TTL        time.Duration // the TTL the hash gets if it has none (the lead's state is gone; the first claim's of a lead counts)

	Result int64
}

// Name is the claim's ClaimName.
func (c *Claim) Name() string { return ClaimName(c.Automation, c.SessionKey) }

// id is bytes 0..15 of the claim's entry: the hash of its name, its
// session.
func (c *Claim) id() string {
	b := binary.LittleEndian.AppendUint64(make([]byte, 0, 16), FNV1a64(c.Name()))
	var id int64
	var seq uint64
	if lead, s, ok := strings.Cut(c.SessionKey, ":"); ok {
		id, _ = strconv.ParseInt(lead, 10, 64)
		seq, _ = strconv.ParseUint(s, 10, 64)
	}
	return string(appendSession(b, id, seq))
}

// claimPrefix starts the name of every claim.
const claimPrefix = "fired:"

// ClaimName names the once-per-(automation, lead) claim of new_lead
// (sessionKey "") or the once-per-(automation, session) claim of
// new_session (sessionKey "LEADID:SEQ", AppendSessionKey).
func ClaimName(automation, sessionKey string) string {
	if sessionKey == "" {
		return claimPrefix + automation
	}
	return claimPrefix + automation + ":" + sessionKey
}

// SessionOfClaim parses a session's ClaimName: the lead id and session
// number of the session it claims. ok is false for any other name (a
// new_lead claim "fired:AUTOMATION" among them).
func SessionOfClaim(name string) (id int64, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(name, claimPrefix)
	if !found {
		return 0, 0, false
	}
	// AUTOMATION may itself contain ':'; the session key is the last two
	// parts.
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return 0, 0, false
	}
	j := strings.LastIndexByte(rest[:i], ':')
	if j <= 0 {
		return 0, 0, false
	}
	id, err := strconv.ParseInt(rest[j+1:i], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	seq, err = strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return id, seq, true
}

// FNV1a64 is the 64-bit FNV-1a hash of s. Stored values hold it (claims'
// ids and owners here, the leads stage's dedup ring): never change it.
func FNV1a64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// OwnerValue is what a claim stores of its owner (an event id): the 64-bit
// FNV-1a hash of it, 8 bytes, little-endian. It only needs to tell the
// owner's replays from everyone else (two events of one lead and
// automation sharing it: about 2^-64).
func OwnerValue(owner string) string {
	return string(binary.LittleEndian.AppendUint64(nil, FNV1a64(owner)))
}

// appendSession appends bytes 8..15 of an entry: the session's number and
// the low 32 bits of its lead's id.
func appendSession(dst []byte, id int64, seq uint64) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(seq))
	return binary.LittleEndian.AppendUint32(dst, uint32(id))
}

// claimScript makes the claims of the leads KEYS. ARGV are, for each lead
// in KEYS's order, the number of its claims, the TTL in milliseconds its
// hash gets if it has none, and four values per claim: its
// id (Claim.id), its owner (OwnerValue), its name (the field it was
// before ClaimsField) and the owner's event id (what such a field held
// before OwnerValue). It returns a result per claim, in order. PEXPIRE
// ... NX needs Redis 7.0 (CheckClaims).
var claimScript = redis.NewScript(`
local out, a = {}, 1
for k = 1, #KEYS do
  local key, n, ttl = KEYS[k], tonumber(ARGV[a]), ARGV[a + 1]
  a = a + 2
  local c = redis.call('HGET', key, 'c:') or '\001'
  local changed = false
  for i = 1, n do
    local id, owner, r = ARGV[a], ARGV[a + 1], nil
    local old = redis.call('HGET', key, ARGV[a + 2])
    if old then
      if old == owner or old == ARGV[a + 3] then r = 2 else r = 0 end
    else
      for p = 2, #c, 24 do
        if string.sub(c, p, p + 15) == id then
          if string.sub(c, p + 16, p + 23) == owner then r = 2 else r = 0 end
          break
        end
      end
      if not r then
        c = c .. id .. owner
        changed, r = true, 1
      end
    end
    out[#out + 1] = r
    a = a + 4
  end
  if changed then redis.call('HSET', key, 'c:', c) end
  redis.call('PEXPIRE', key, ttl, 'NX')
end
return out
`)

// leadsPerCall is the most leads one claim script call takes: a script
// blocks Redis while it runs.
const leadsPerCall = 64

// ClaimAll makes every claim in one pipelined round trip. On a single
// Redis (a *redis.Client) one script call takes the claims of up to
// leadsPerCall leads; on a Redis Cluster or Ring, whose scripts may only
// touch keys of one slot or shard, it is a call per lead. A claim already
// held by the same owner is recognised (ClaimOwn), so a replay after a
// crash between claiming and producing produces its output again. A hash
// that a claim creates (the lead's state is gone) gets the claim's TTL; a
// lead's own TTL is left alone.
func ClaimAll(ctx context.Context, rdb redis.UniversalClient, claims []*Claim) error {
	if len(claims) == 0 {
		return nil
	}
	var byLead [][]*Claim
	at := map[string]int{}
	for _, c := range claims {
		i, ok := at[c.Key]
		if !ok {
			i = len(byLead)
			at[c.Key] = i
			byLead = append(byLead, nil)
		}
		byLead[i] = append(byLead[i], c)
	}
	per := 1
	if _, single := rdb.(*redis.Client); single {
		per = leadsPerCall
	}
	var calls []scriptCall
	var made [][][]*Claim // the leads of each call
	for len(byLead) > 0 {
		leads := byLead[:min(per, len(byLead))]
		byLead = byLead[len(leads):]
		var call scriptCall
		for _, cs := range leads {
			call.keys = append(call.keys, cs[0].Key)
			call.args = append(call.args, len(cs), cs[0].TTL.Milliseconds())
			for _, c := range cs {
				call.args = append(call.args, c.id(), OwnerValue(c.Owner), c.Name(), c.Owner)
			}
		}
		calls = append(calls, call)
		made = append(made, leads)
	}
	cmds, err := runScript(ctx, rdb, claimScript, calls)
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	for i, cmd := range cmds {
		res, err := cmd.Int64Slice()
		if err != nil {
			return fmt.Errorf("claim %s: %w", made[i][0][0].Key, err)
		}
		for _, cs := range made[i] {
			if len(res) < len(cs) {
				return fmt.Errorf("claim %s: too few results", cs[0].Key)
			}
			for j, c := range cs {
				c.Result = res[j]
			}
			res = res[len(cs):]
		}
		if len(res) != 0 {
			return fmt.Errorf("claim %s: too many results", made[i][0][0].Key)
		}
	}
	return nil
}

// pruneScript drops claims of sessions from KEYS[1]'s ClaimsField: ARGV
// are the sessions' bytes 8..15 (appendSession). It returns how many it
// dropped.
var pruneScript = redis.NewScript(`
local c = redis.call('HGET', KEYS[1], 'c:')
if not c then return 0 end
local drop = {}
for i = 1, #ARGV do drop[ARGV[i]] = true end
local kept, n = {string.sub(c, 1, 1)}, 0
for p = 2, #c, 24 do
  if drop[string.sub(c, p + 8, p + 15)] then n = n + 1 else kept[#kept + 1] = string.sub(c, p, p + 23) end
end
if n == 0 then return 0 end
if #kept == 1 then redis.call('HDEL', KEYS[1], 'c:') else redis.call('HSET', KEYS[1], 'c:', table.concat(kept)) end
return n
`)

// ClaimSession is a session whose claims ClaimSessions found: the low 32
// bits of its lead's id and its number.
type ClaimSession struct {
	ID32, Seq uint32
}

// ClaimSessions returns the sessions of the new_session claims in a
// ClaimsField value, each once, or an error for a value that is not one.
func ClaimSessions(v string) ([]ClaimSession, error) {
	if len(v) == 0 || v[0] != claimsFormat || (len(v)-1)%claimEntry != 0 {
		return nil, ErrCorrupt
	}
	var out []ClaimSession
	for p := 1; p < len(v); p += claimEntry {
		s := ClaimSession{Seq: binary.LittleEndian.Uint32([]byte(v[p+8 : p+12])), ID32: binary.LittleEndian.Uint32([]byte(v[p+12 : p+16]))}
		if s.Seq != 0 && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Prune is a lead whose claims of some sessions go (they are no longer
// kept, or are of an earlier life of the lead).
type Prune struct {
	Key      string
	Sessions []ClaimSession
}

// PruneClaims drops the claims of each lead's sessions, one script call
// per lead, pipelined. A claim made in the meantime of another session
// stays.
func PruneClaims(ctx context.Context, rdb redis.UniversalClient, ps []Prune) error {
	if len(ps) == 0 {
		return nil
	}
	calls := make([]scriptCall, len(ps))
	for i, p := range ps {
		calls[i].keys = []string{p.Key}
		for _, s := range p.Sessions {
			calls[i].args = append(calls[i].args, string(appendSession(nil, int64(s.ID32), uint64(s.Seq))))
		}
	}
	_, err := runScript(ctx, rdb, pruneScript, calls)
	if err != nil {
		return fmt.Errorf("pruning claims: %w", err)
	}
	return nil
}

// scriptCall is one call of a script: its keys and arguments.
type scriptCall struct {
	keys []string
	args []any
}

// runScript runs the calls of script in one pipeline, by its SHA1; a
// Redis that does not have it (it restarted, or never ran it) is given it
// and the pipeline is sent again, which is why the scripts above must be
// safe to run twice.
func runScript(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, calls []scriptCall) ([]*redis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		pipe := rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(calls))
		for i, c := range calls {
			cmds[i] = script.EvalSha(ctx, pipe, c.keys, c.args...)
		}
		_, err := pipe.Exec(ctx)
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := script.Load(ctx, rdb).Err(); err != nil {
				return nil, err
			}
			continue
		}
		return cmds, err
	}
}
