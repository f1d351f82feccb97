package evaluate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// Claim results.
const (
	claimTaken = 0 // someone else claimed it first: do not fire
	claimNew   = 1 // this call claimed it: fire
	claimOwn   = 2 // claimed before by the same owner (a replay): fire again
)

// revealScript reveals up to ARGV[3] (the reveal limit; -1: none) contacts
// of one company for one automation, never one that is already revealed
// in the workspace. KEYS[1] is the lead's hash (leadstore.LeadRedisKey): the
// reveal records are fields of it, so they live exactly as long as the
// lead. ARGV[1] is the owner (the input that triggered), ARGV[2] the TTL
// in milliseconds given to the hash when it has none (the lead's state is
// gone: the records then last one lead TTL), ARGV[4] the field counting
// the automation's reveals for the company, ARGV[5..] the candidate
// contacts' fields in order of preference. It returns the indexes (from
// 1) of the candidates revealed by this owner, including those it
// revealed before (a replay).
var revealScript = redis.NewScript(`
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[4]) or '0')
local limit = tonumber(ARGV[3])
local out = {}
for i = 5, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v == ARGV[1] then
    table.insert(out, i - 4)
  elseif not v and (limit < 0 or n < limit) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    n = n + 1
    table.insert(out, i - 4)
  end
end
redis.call('HSET', KEYS[1], ARGV[4], n)
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return out
`)

// keys builds the evaluate stage's Redis keys and fields.
//
// The claims (new_lead and new_session) and the reveal records are fields
// of the lead's own hash (leadstore.LeadRedisKey), so they expire with the
// lead, are refreshed with it, and go when it goes: a lead that expired
// and comes back is a new lead, and its new_lead fires again; the claims
// of a deleted automation go with the leads that hold them. Their field
// names contain ':', which the leads stage's own fields never do, and the
// leads stage keeps them for as long as the lead has state, except a
// new_session claim, which it drops with its session
// (leadstore.SessionClaimField). The lead's hash tag {ws|domain} keeps
// every key of one lead on one Redis Cluster slot.
type keys struct{ prefix string }

func (k keys) tag(leadKey string) string { return k.prefix + "{" + leadKey + "}" }

// lead is the lead's hash, which holds its claims and reveal records.
func (k keys) lead(leadKey string) string { return leadstore.LeadRedisKey(k.prefix, leadKey) }

// leadClaimField is the field of the lead's hash holding the
// once-per-(automation, lead) claim of new_lead.
func leadClaimField(automation string) string { return "fired:" + automation }

// sessionClaimField is the field of the lead's hash holding the
// once-per-(automation, session) claim of new_session; sessionKey is the
// change's "LEADID:SEQ".
func sessionClaimField(automation, sessionKey string) string {
	return leadstore.SessionClaimField(automation, sessionKey)
}

// revealCountField is the field of the lead's hash counting an
// automation's reveals for the lead's company.
func revealCountField(automation string) string { return "reveals:" + automation }

// revealedField is the field of the lead's hash marking a contact of the
// lead's company as revealed in the workspace.
func revealedField(email string) string { return "revealed:" + strings.ToLower(email) }

// claim is one claim to make; result is set by claimAll. It is a field of
// the hash key (the lead's), and ttl is the TTL the hash gets if it has
// none (the lead's state is gone).
type claim struct {
	key    string
	field  string
	owner  string
	ttl    time.Duration
	result int64
}

// cacheKey is the claim's key in the stage's in-process memory of claims.
func (c *claim) cacheKey() string { return c.key + "\x00" + c.field }

// ownerValue is what a claim stores of its owner (an event id): the
// 64-bit FNV-1a hash of it, 8 bytes, little-endian. It only needs to tell
// the owner's replays from everyone else (two events of one lead and
// automation sharing it: about 2^-64), and takes 16 bytes of a lead hash
// where the 36-byte event id took 48; claims stored before 2026-12 hold
// the event id itself, which claimAll recognises too.
func ownerValue(owner string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(owner); i++ {
		h ^= uint64(owner[i])
		h *= 1099511628211
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], h)
	return string(b[:])
}

// claimAll makes every claim in one pipelined round trip. A claim is
// HSETNX, then HGET of the same field (a field once set never changes
// while the hash lives), then PEXPIRE ... NX (Redis 7.0 or later), which
// gives a hash that the claim created a TTL and leaves the lead's own
// alone. A claim already held by the same owner is recognised, so a
// replay after a crash between claiming and producing produces its output
// again.
func claimAll(ctx context.Context, rdb redis.UniversalClient, claims []*claim) error {
	if len(claims) == 0 {
		return nil
	}
	pipe := rdb.Pipeline()
	set := make([]*redis.BoolCmd, len(claims))
	get := make([]*redis.StringCmd, len(claims))
	for i, c := range claims {
		set[i] = pipe.HSetNX(ctx, c.key, c.field, ownerValue(c.owner))
		get[i] = pipe.HGet(ctx, c.key, c.field)
		pipe.Do(ctx, "PEXPIRE", c.key, c.ttl.Milliseconds(), "NX")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("claim: %w", err)
	}
	for i, c := range claims {
		holder, err := get[i].Result()
		switch {
		case err != nil:
			return fmt.Errorf("claim %s %s: %w", c.key, c.field, err)
		case holder != ownerValue(c.owner) && holder != c.owner: // the owner itself: stored before 2026-12
			c.result = claimTaken
		case set[i].Val(): // HSETNX set the field: claimed now
			c.result = claimNew
		default:
			c.result = claimOwn
		}
	}
	return nil
}

// reveal reserves contacts for one (automation, company) in the lead's
// hash; candidates are the contacts' fields in order of preference, and
// ttl is the TTL the hash gets if it has none. It returns the indexes
// (from 0) of the candidates this owner reveals.
func reveal(ctx context.Context, rdb redis.UniversalClient, leadHash, countField string, candidates []string, owner string, limit int, ttl time.Duration) ([]int, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 4+len(candidates))
	args = append(args, owner, ttl.Milliseconds(), limit, countField)
	for _, c := range candidates {
		args = append(args, c)
	}
	res, err := revealScript.Run(ctx, rdb, []string{leadHash}, args...).Int64Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reveal: %w", err)
	}
	out := make([]int, len(res))
	for i, n := range res {
		out[i] = int(n) - 1
	}
	return out, nil
}

// Preflight checks, before the stage consumes, that Redis takes the
// claims' commands (CheckClaims; pipeline.Preflighter).
func (s *Stage) Preflight(ctx context.Context) error {
	return CheckClaims(ctx, s.d.Redis, s.d.KeyPrefix)
}

// CheckClaims checks that rdb takes the claims' PEXPIRE ... NX (Redis 7.0
// or later), so that an older Redis is named at start instead of failing
// every batch. It returns an error only when Redis answered and refused
// the command; a Redis it cannot reach is left to the stage's retries and
// /readyz.
func CheckClaims(ctx context.Context, rdb redis.UniversalClient, keyPrefix string) error {
	key := keys{prefix: keyPrefix}.tag("probe") + ":claim-check"
	err := rdb.Do(ctx, "PEXPIRE", key, time.Minute.Milliseconds(), "NX").Err()
	var refused redis.Error
	if err != nil && !errors.Is(err, redis.Nil) && errors.As(err, &refused) {
		return fmt.Errorf("redis refused PEXPIRE ... NX, which the evaluate stage's claims need (Redis 7.0 or later): %w", err)
	}
	return nil
}
