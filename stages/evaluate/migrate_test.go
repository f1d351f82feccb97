package evaluate

import (
	"context"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// TestMigrateClaimsMovesOldKeysIntoTheLead: a Redis written by a leadflow
// from before the claims moved into the lead's hash held them as keys
// without a TTL; after the upgrade such a lead would fire new_lead again
// and could reveal a contact twice. MigrateClaims moves them into the
// lead's hash (where the current claim code finds them) and drops those of
// expired leads. The same for new_session claims, which were keys with a
// TTL until they moved into the lead's hash too: without the move a
// change replayed across the upgrade would fire new_session again.
func TestMigrateClaimsMovesOldKeysIntoTheLead(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	prefix := kafkatest.Prefix(t)
	ctx := context.Background()
	k := keys{prefix: prefix}
	live, gone := "ws_1|netcontrol.com", "ws_1|gone.com"
	lead := leadstore.LeadRedisKey(prefix, live)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rdb.HSet(ctx, lead, "state", "x").Err())
	must(rdb.Expire(ctx, lead, time.Hour).Err())
	// The earlier layout (PREFIX{LEAD}:KIND:ID, no TTL).
	must(rdb.Set(ctx, k.tag(live)+":fired:aut_1", "owner-1", 0).Err())
	must(rdb.Set(ctx, k.tag(live)+":revealed:john.doe@mdxtechnology.com", "owner-2", 0).Err())
	must(rdb.Set(ctx, k.tag(live)+":reveals:aut_2", "2", 0).Err())
	must(rdb.Set(ctx, k.tag(gone)+":fired:aut_1", "owner-3", 0).Err())
	// A new_session claim was a key of its own with a TTL until it moved
	// into the lead's hash too.
	session := k.tag(live) + ":fired:aut_3:17:4"
	must(rdb.Set(ctx, session, "owner-4", time.Hour).Err())
	// Since the upgrade the current code counted one more reveal.
	must(rdb.HSet(ctx, lead, revealCountField("aut_2"), 1).Err())

	rep, err := MigrateClaims(ctx, rdb, prefix)
	must(err)
	if rep.Moved["fired"] != 1 || rep.Moved["fired_session"] != 1 || rep.Moved["revealed"] != 1 || rep.Moved["reveals"] != 1 || rep.Dropped != 1 {
		t.Fatalf("report %+v, want one of each kind moved and one dropped", rep)
	}
	got, err := rdb.HGetAll(ctx, lead).Result()
	must(err)
	want := map[string]string{
		leadstore.ClaimName("aut_1", ""):            "owner-1",
		revealedField("john.doe@mdxtechnology.com"): "owner-2",
		revealCountField("aut_2"):                   "3",
		leadstore.ClaimName("aut_3", "17:4"):        "owner-4",
	}
	for f, v := range want {
		if got[f] != v {
			t.Errorf("lead field %s = %q, want %q", f, got[f], v)
		}
	}
	for _, old := range []string{k.tag(live) + ":fired:aut_1", k.tag(live) + ":reveals:aut_2", k.tag(gone) + ":fired:aut_1", session} {
		if n, _ := rdb.Exists(ctx, old).Result(); n != 0 {
			t.Errorf("%s is still there", old)
		}
	}
	if ttl, _ := rdb.TTL(ctx, lead).Result(); ttl <= 0 {
		t.Errorf("the lead's TTL is %v after the move, want it kept", ttl)
	}
	// The claim code now finds the moved claims as taken by their owners.
	c := &leadstore.Claim{Key: lead, Automation: "aut_1", Owner: "someone-else", TTL: time.Hour}
	cs := &leadstore.Claim{Key: lead, Automation: "aut_3", SessionKey: "17:4", Owner: "someone-else", TTL: time.Hour}
	must(leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{c, cs}))
	if c.Result != claimTaken || cs.Result != claimTaken {
		t.Errorf("moved new_lead and new_session claims: results %d, %d for another owner, want taken (%d)", c.Result, cs.Result, claimTaken)
	}
	// A second run finds nothing to do.
	rep, err = MigrateClaims(ctx, rdb, prefix)
	must(err)
	if len(rep.Moved) != 0 || rep.Dropped != 0 {
		t.Fatalf("second run %+v, want nothing", rep)
	}
}
