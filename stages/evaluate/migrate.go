package evaluate

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// MigrateReport counts what MigrateClaims moved.
type MigrateReport struct {
	// Moved is the number of keys moved into their lead's hash, by kind:
	// "fired" (new_lead claims), "fired_session" (new_session claims),
	// "revealed" (contacts revealed), "reveals" (a reveal automation's
	// count for the company).
	Moved map[string]int
	// Dropped is the number of keys deleted because their lead has no
	// state any more: the lead expired, so it is a new lead if it comes
	// back (as for every lead since claims live in the lead's hash).
	Dropped int
}

// migrateScript moves one key written by a leadflow from before the
// claims moved into the lead's hash (KEYS[1], a string) into the field
// ARGV[1] of the lead's hash (KEYS[2]), atomically, and deletes it.
// ARGV[2] is "count" for a reveal count, which is added to what the
// current version counted since; other records are kept as the current
// version wrote them, if it did. It returns 1 when moved, 2 when the lead
// has no state (the key is deleted), 0 when the key is gone already.
var migrateScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 0 then return 2 end
if ARGV[2] == 'count' then
  redis.call('HINCRBY', KEYS[2], ARGV[1], tonumber(v) or 0)
else
  redis.call('HSETNX', KEYS[2], ARGV[1], v)
end
return 1
`)

// MigrateClaims moves the claims and reveal records that an earlier
// leadflow kept as keys of their own (PREFIX{ws|domain}:fired:AUTOMATION,
// …:revealed:EMAIL, …:reveals:AUTOMATION without a TTL, and the
// new_session claims …:fired:AUTOMATION:LEADID:SEQ with
// new_session_claim_ttl) into fields of their lead's hash, where they now
// live and expire with the lead (a new_session claim with its session).
// Keys of leads that have no state any more are deleted. It is safe to run twice and while the pipeline runs
// (each key moves in one script, on the lead's own Redis Cluster slot); on
// a Redis Cluster it scans every master.
func MigrateClaims(ctx context.Context, rdb redis.UniversalClient, prefix string) (MigrateReport, error) {
	rep := MigrateReport{Moved: map[string]int{}}
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		var cursor uint64
		for {
			page, next, err := c.Scan(ctx, cursor, pipeline.EscapeGlob(prefix)+"{*}:*", 1000).Result()
			if err != nil {
				return fmt.Errorf("scan: %w", err)
			}
			for _, key := range page {
				leadKey, field, kind, ok := oldClaimKey(prefix, key)
				if !ok {
					continue
				}
				mode := "keep"
				if kind == "reveals" {
					mode = "count"
				}
				n, err := migrateScript.Run(ctx, c, []string{key, leadstore.LeadRedisKey(prefix, leadKey)}, field, mode).Int()
				if err != nil {
					return fmt.Errorf("moving %s: %w", key, err)
				}
				switch n {
				case 1:
					rep.Moved[kind]++
				case 2:
					rep.Dropped++
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
		return rep, err
	}
	return rep, scan(ctx, rdb)
}

// oldClaimKey parses a key of the earlier layout: PREFIX{LEAD}:KIND:ID
// with KIND fired, revealed or reveals; a fired key whose ID has a session
// part (AUTOMATION:LEADID:SEQ) is of kind fired_session. field is the lead
// hash's field that replaces it, "KIND:ID" (leadstore.ClaimName,
// revealedField and revealCountField name the same; ClaimAll honours a
// claim moved to such a field, and makes new claims in
// leadstore.ClaimsField).
func oldClaimKey(prefix, key string) (leadKey, field, kind string, ok bool) {
	rest, found := strings.CutPrefix(key, prefix+"{")
	if !found {
		return "", "", "", false
	}
	leadKey, field, found = strings.Cut(rest, "}:")
	if !found {
		return "", "", "", false
	}
	kind, id, found := strings.Cut(field, ":")
	if !found || id == "" {
		return "", "", "", false
	}
	switch kind {
	case "fired":
		if strings.Contains(id, ":") { // a new_session claim
			kind = "fired_session"
		}
	case "revealed", "reveals":
	default:
		return "", "", "", false
	}
	return leadKey, field, kind, true
}
