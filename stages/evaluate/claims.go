package evaluate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// Claim results (leadstore.ClaimAll).
const (
	claimTaken = leadstore.ClaimTaken
	claimNew   = leadstore.ClaimNew
	claimOwn   = leadstore.ClaimOwn
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
// The claims (new_lead and new_session, leadstore.ClaimsField) and the
// reveal records are fields of the lead's own hash (leadstore.LeadRedisKey),
// so they expire with the lead, are refreshed with it, and go when it goes:
// a lead that expired and comes back is a new lead, and its new_lead fires
// again; the claims of a deleted automation go with the leads that hold
// them. Their field names contain ':', which the leads stage's own fields
// never do, and the leads stage keeps them for as long as the lead has
// state, except a new_session claim, which it drops with its session
// (leadstore.PruneClaims). The lead's hash tag {ws|domain} keeps every key
// of one lead on one Redis Cluster slot.
type keys struct{ prefix string }

func (k keys) tag(leadKey string) string { return k.prefix + "{" + leadKey + "}" }

// lead is the lead's hash, which holds its claims and reveal records.
func (k keys) lead(leadKey string) string { return leadstore.LeadRedisKey(k.prefix, leadKey) }

// revealCountField is the field of the lead's hash counting an
// automation's reveals for the lead's company.
func revealCountField(automation string) string { return "reveals:" + automation }

// revealedField is the field of the lead's hash marking a contact of the
// lead's company as revealed in the workspace.
func revealedField(email string) string { return "revealed:" + strings.ToLower(email) }

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
