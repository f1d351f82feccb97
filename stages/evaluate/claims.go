package evaluate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Claim results.
const (
	claimTaken = 0 // someone else claimed it first: do not fire
	claimNew   = 1 // this call claimed it: fire
	claimOwn   = 2 // claimed before by the same owner (a replay): fire again
)

// revealScript reveals up to ARGV[3] (the reveal limit; -1: none) contacts of
// one company for one automation, never one that is already revealed in
// the workspace. KEYS[1] counts the automation's reveals for the company;
// KEYS[2..] are the candidate contacts' reveal keys in order of preference.
// ARGV[1] is the owner (the input that triggered), ARGV[2] the TTL of the
// keys in milliseconds (0: none). Every key shares the lead's hash tag, so
// the script runs on one Redis Cluster slot. It returns the indexes (from
// 1) of the candidates revealed by this owner, including those it revealed
// before (a replay).
var revealScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[3])
local out = {}
for i = 2, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v == ARGV[1] then
    table.insert(out, i - 1)
  elseif not v and (limit < 0 or n < limit) then
    if tonumber(ARGV[2]) > 0 then
      redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
    else
      redis.call('SET', KEYS[i], ARGV[1])
    end
    n = n + 1
    table.insert(out, i - 1)
  end
end
redis.call('SET', KEYS[1], n)
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return out
`)

// keys builds the evaluate stage's Redis keys. Every key of one lead
// carries the lead's hash tag {ws|domain}, so it lives on one Cluster slot.
type keys struct{ prefix string }

func (k keys) tag(leadKey string) string { return k.prefix + "{" + leadKey + "}" }

// leadClaim is the once-per-(automation, lead) claim of new_lead.
func (k keys) leadClaim(leadKey, automation string) string {
	return k.tag(leadKey) + ":fired:" + automation
}

// sessionClaim is the once-per-(automation, session) claim of new_session.
func (k keys) sessionClaim(leadKey, automation, sessionKey string) string {
	return k.tag(leadKey) + ":fired:" + automation + ":" + sessionKey
}

// revealCount counts an automation's reveals for the lead's company.
func (k keys) revealCount(leadKey, automation string) string {
	return k.tag(leadKey) + ":reveals:" + automation
}

// revealed marks a contact of the lead's company as revealed in the workspace.
func (k keys) revealed(leadKey, email string) string {
	return k.tag(leadKey) + ":revealed:" + strings.ToLower(email)
}

// claim is one claim to make; result is set by claimAll.
type claim struct {
	key    string
	owner  string
	ttl    time.Duration
	result int64
}

// claimAll makes every claim in one pipelined round trip. A claim is one
// atomic SET key owner NX GET (Redis 7.0 or later): it sets the key unless
// it exists and returns the value it had, so a claim already held by the
// same owner is recognised and a replay after a crash between claiming and
// producing produces its output again.
func claimAll(ctx context.Context, rdb redis.UniversalClient, claims []*claim) error {
	if len(claims) == 0 {
		return nil
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.StatusCmd, len(claims))
	for i, c := range claims {
		cmds[i] = pipe.SetArgs(ctx, c.key, c.owner, redis.SetArgs{Mode: "NX", Get: true, TTL: c.ttl})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("claim: %w", err)
	}
	for i, cmd := range cmds {
		holder, err := cmd.Result()
		switch {
		case errors.Is(err, redis.Nil): // the key did not exist: claimed now
			claims[i].result = claimNew
		case err != nil:
			return fmt.Errorf("claim %s: %w", claims[i].key, err)
		case holder == claims[i].owner:
			claims[i].result = claimOwn
		default:
			claims[i].result = claimTaken
		}
	}
	return nil
}

// reveal reserves contacts for one (automation, company); candidates are
// the contacts' reveal keys in order of preference. It returns the
// indexes (from 0) of the candidates this owner reveals.
func reveal(ctx context.Context, rdb redis.UniversalClient, countKey string, candidates []string, owner string, limit int, ttl time.Duration) ([]int, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	keys := append([]string{countKey}, candidates...)
	res, err := revealScript.Run(ctx, rdb, keys, owner, ttl.Milliseconds(), limit).Int64Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reveal: %w", err)
	}
	out := make([]int, len(res))
	for i, n := range res {
		out[i] = int(n) - 1
	}
	return out, nil
}

// CheckClaims checks that rdb takes the claims' SET ... NX GET (Redis 7.0
// or later), so that an older Redis is named at start instead of failing
// every batch. It returns an error only when Redis answered and refused
// the command; a Redis it cannot reach is left to the stage's retries and
// /readyz.
func CheckClaims(ctx context.Context, rdb redis.UniversalClient, keyPrefix string) error {
	key := keys{prefix: keyPrefix}.tag("probe") + ":claim-check"
	err := rdb.SetArgs(ctx, key, "probe", redis.SetArgs{Mode: "NX", Get: true, TTL: time.Minute}).Err()
	var refused redis.Error
	if err != nil && !errors.Is(err, redis.Nil) && errors.As(err, &refused) {
		return fmt.Errorf("redis refused SET ... NX GET, which the evaluate stage's claims need (Redis 7.0 or later): %w", err)
	}
	return nil
}
