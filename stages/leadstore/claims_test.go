package leadstore_test

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/leadstore"
)

func TestClaimOnceAndRecogniseOwnReplay(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	ctx := context.Background()
	lead := leadstore.LeadRedisKey(kafkatest.Prefix(t), "ws_1|netcontrol.com")
	for _, c := range []struct{ name, sessionKey string }{
		{"new_lead", ""},
		{"new_session", "7:1"},
		{"new_session of another session", "7:2"},
	} {
		claim := func(owner string) *leadstore.Claim {
			return &leadstore.Claim{Key: lead, Automation: "aut_1", SessionKey: c.sessionKey, Owner: owner, TTL: time.Hour}
		}
		first := claim("ev-1")
		if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{first}); err != nil {
			t.Fatal(err)
		}
		replay, other := claim("ev-1"), claim("ev-2")
		if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{replay, other}); err != nil {
			t.Fatal(err)
		}
		if first.Result != leadstore.ClaimNew || replay.Result != leadstore.ClaimOwn || other.Result != leadstore.ClaimTaken {
			t.Fatalf("%s: results = %d, %d, %d; want new, own, taken", c.name, first.Result, replay.Result, other.Result)
		}
	}
	// All three claims are entries of the one claims field, none a field
	// of its own.
	fields := rdb.HGetAll(ctx, lead).Val()
	v, ok := fields[leadstore.ClaimsField]
	if len(fields) != 1 || !ok || len(v) != 1+3*24 {
		t.Fatalf("lead hash %q, want only the claims field with three 24-byte entries", fields)
	}
	ss, err := leadstore.ClaimSessions(v)
	if err != nil || len(ss) != 2 || ss[0] != (leadstore.ClaimSession{ID32: 7, Seq: 1}) || ss[1] != (leadstore.ClaimSession{ID32: 7, Seq: 2}) {
		t.Fatalf("ClaimSessions = %v, %v; want sessions 1 and 2 of lead 7", ss, err)
	}
	// The entries hold an 8-byte hash of the owner, not the event id.
	if got, want := v[1+16:1+24], leadstore.OwnerValue("ev-1"); got != want {
		t.Fatalf("stored owner %x, want the hash of ev-1 %x", got, want)
	}
	// Many claims of one lead in one call: each is made once.
	var batch []*leadstore.Claim
	for i := range 3 {
		for _, sk := range []string{"", "7:3"} {
			batch = append(batch, &leadstore.Claim{Key: lead, Automation: "aut_2", SessionKey: sk, Owner: "ev-" + string(rune('a'+i)), TTL: time.Hour})
		}
	}
	if err := leadstore.ClaimAll(ctx, rdb, batch); err != nil {
		t.Fatal(err)
	}
	for i, c := range batch {
		want := int64(leadstore.ClaimTaken)
		if i < 2 {
			want = leadstore.ClaimNew
		}
		if c.Result != want {
			t.Errorf("claim %d (%s of %s) = %d, want %d", i, c.SessionKey, c.Owner, c.Result, want)
		}
	}
}

// A claim stored as a field of its own (before ClaimsField) is honoured:
// one holding the event id (before claims held a hash of their owner) and
// one holding the owner's hash; no entry is added for either.
func TestClaimStoredAsAFieldIsRecognised(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	ctx := context.Background()
	lead := leadstore.LeadRedisKey(kafkatest.Prefix(t), "ws_1|netcontrol.com")
	if err := rdb.HSet(ctx, lead, leadstore.ClaimName("aut_1", ""), "0b7c6f0e-ev",
		leadstore.ClaimName("aut_1", "7:1"), leadstore.OwnerValue("ev-s")).Err(); err != nil {
		t.Fatal(err)
	}
	mk := func(sk, owner string) *leadstore.Claim {
		return &leadstore.Claim{Key: lead, Automation: "aut_1", SessionKey: sk, Owner: owner, TTL: time.Hour}
	}
	cs := []*leadstore.Claim{mk("", "0b7c6f0e-ev"), mk("", "ev-2"), mk("7:1", "ev-s"), mk("7:1", "ev-2")}
	if err := leadstore.ClaimAll(ctx, rdb, cs); err != nil {
		t.Fatal(err)
	}
	want := []int64{leadstore.ClaimOwn, leadstore.ClaimTaken, leadstore.ClaimOwn, leadstore.ClaimTaken}
	for i, c := range cs {
		if c.Result != want[i] {
			t.Errorf("claim %d = %d, want %d", i, c.Result, want[i])
		}
	}
	if n := rdb.HExists(ctx, lead, leadstore.ClaimsField).Val(); n {
		t.Errorf("claims already held as fields added entries to %s", leadstore.ClaimsField)
	}
}

func TestClaimTTL(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	ctx := context.Background()
	p := kafkatest.Prefix(t)
	// Regression (issue 12): new_lead claims had no TTL and outlived the
	// lead, so a lead that expired and came back never fired new_lead
	// again. They live in the lead's hash: they keep the lead's TTL, and a
	// hash that a claim creates (the lead's state is gone) gets the lead
	// TTL.
	lead := leadstore.LeadRedisKey(p, "ws|d.com")
	if err := rdb.HSet(ctx, lead, "h", "state").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.PExpire(ctx, lead, 5*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	withLead := &leadstore.Claim{Key: lead, Automation: "aut", Owner: "ev", TTL: time.Hour}
	session := &leadstore.Claim{Key: lead, Automation: "aut", SessionKey: "7:1", Owner: "ev", TTL: time.Hour}
	if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{withLead, session}); err != nil {
		t.Fatal(err)
	}
	if withLead.Result != leadstore.ClaimNew || session.Result != leadstore.ClaimNew {
		t.Fatalf("claims = %d, %d; want new, new", withLead.Result, session.Result)
	}
	if ttl := rdb.PTTL(ctx, lead).Val(); ttl <= time.Hour || ttl > 5*time.Hour {
		t.Fatalf("lead ttl after a claim = %s, want the lead's own (1h, 5h]", ttl)
	}
	gone := leadstore.LeadRedisKey(p, "ws|gone.com")
	orphan := &leadstore.Claim{Key: gone, Automation: "aut", Owner: "ev", TTL: time.Hour}
	if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{orphan}); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, gone).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("claim of a lead without state: ttl = %s, want the lead TTL (0, 1h]", ttl)
	}
	// The lead expires: its claim goes with it, and the lead fires again.
	if err := rdb.Del(ctx, lead).Err(); err != nil {
		t.Fatal(err)
	}
	again := &leadstore.Claim{Key: lead, Automation: "aut", Owner: "ev-later", TTL: time.Hour}
	if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{again}); err != nil {
		t.Fatal(err)
	}
	if again.Result != leadstore.ClaimNew {
		t.Fatalf("claim after the lead expired = %d, want new", again.Result)
	}
}

// PruneClaims drops the claims of the sessions it is given, of their lead
// id only, and keeps the new_lead claims and the other sessions'; a lead
// whose last claim goes loses the field.
func TestPruneClaimsDropsOnlyThoseSessions(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	ctx := context.Background()
	lead := leadstore.LeadRedisKey(kafkatest.Prefix(t), "ws|d.com")
	var cs []*leadstore.Claim
	for _, sk := range []string{"", "7:1", "7:2", "6:2", "7:3"} {
		for _, a := range []string{"aut_1", "aut_2"} {
			cs = append(cs, &leadstore.Claim{Key: lead, Automation: a, SessionKey: sk, Owner: "ev", TTL: time.Hour})
		}
	}
	if err := leadstore.ClaimAll(ctx, rdb, cs); err != nil {
		t.Fatal(err)
	}
	if err := leadstore.PruneClaims(ctx, rdb, []leadstore.Prune{{Key: lead, Sessions: []leadstore.ClaimSession{{ID32: 7, Seq: 2}, {ID32: 6, Seq: 2}}}}); err != nil {
		t.Fatal(err)
	}
	v := rdb.HGet(ctx, lead, leadstore.ClaimsField).Val()
	ss, err := leadstore.ClaimSessions(v)
	if err != nil || len(ss) != 2 || ss[0] != (leadstore.ClaimSession{ID32: 7, Seq: 1}) || ss[1] != (leadstore.ClaimSession{ID32: 7, Seq: 3}) {
		t.Fatalf("after the prune: sessions %v, %v; want 1 and 3 of lead 7", ss, err)
	}
	if len(v) != 1+6*24 {
		t.Fatalf("after the prune: %d bytes, want the two new_lead claims and four session claims", len(v))
	}
	// A pruned session's claim can be made again (a lead never numbers a
	// session twice; this shows the entry is gone).
	again := &leadstore.Claim{Key: lead, Automation: "aut_1", SessionKey: "7:2", Owner: "ev-x", TTL: time.Hour}
	kept := &leadstore.Claim{Key: lead, Automation: "aut_1", SessionKey: "7:3", Owner: "ev-x", TTL: time.Hour}
	if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{again, kept}); err != nil {
		t.Fatal(err)
	}
	if again.Result != leadstore.ClaimNew || kept.Result != leadstore.ClaimTaken {
		t.Fatalf("after the prune: %d, %d; want the pruned session's claim new, the kept one's taken", again.Result, kept.Result)
	}
	// Only new_lead claims left: pruning every session leaves them.
	all := []leadstore.ClaimSession{{ID32: 7, Seq: 1}, {ID32: 7, Seq: 2}, {ID32: 7, Seq: 3}}
	if err := leadstore.PruneClaims(ctx, rdb, []leadstore.Prune{{Key: lead, Sessions: all}}); err != nil {
		t.Fatal(err)
	}
	if v := rdb.HGet(ctx, lead, leadstore.ClaimsField).Val(); len(v) != 1+2*24 {
		t.Fatalf("after pruning every session: %d bytes, want the two new_lead claims", len(v))
	}
	// A field of new_session claims only goes whole.
	solo := leadstore.LeadRedisKey(kafkatest.Prefix(t), "ws|solo.com")
	c := &leadstore.Claim{Key: solo, Automation: "aut_1", SessionKey: "9:1", Owner: "ev", TTL: time.Hour}
	if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{c}); err != nil {
		t.Fatal(err)
	}
	if err := leadstore.PruneClaims(ctx, rdb, []leadstore.Prune{{Key: solo, Sessions: []leadstore.ClaimSession{{ID32: 9, Seq: 1}}}}); err != nil {
		t.Fatal(err)
	}
	if rdb.HExists(ctx, solo, leadstore.ClaimsField).Val() {
		t.Fatal("a claims field with no claims left is still there")
	}
}

// A Redis without the scripts (restarted, or flushed) is given them and
// the claims are made.
func TestClaimAfterScriptFlush(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	ctx := context.Background()
	lead := leadstore.LeadRedisKey(kafkatest.Prefix(t), "ws|d.com")
	c := &leadstore.Claim{Key: lead, Automation: "aut", Owner: "ev", TTL: time.Hour}
	if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{c}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	c = &leadstore.Claim{Key: lead, Automation: "aut", Owner: "ev", TTL: time.Hour}
	if err := leadstore.ClaimAll(ctx, rdb, []*leadstore.Claim{c}); err != nil || c.Result != leadstore.ClaimOwn {
		t.Fatalf("claim after SCRIPT FLUSH = %d, %v; want own", c.Result, err)
	}
}

func TestClaimSessionsRejectsWhatIsNotAClaimsField(t *testing.T) {
	good := string([]byte{1}) + string(make([]byte, 24))
	if _, err := leadstore.ClaimSessions(good); err != nil {
		t.Fatalf("one entry: %v", err)
	}
	for _, bad := range []string{"", "\x02" + good[1:], good + "x", string(binary.LittleEndian.AppendUint32(nil, 1))} {
		if _, err := leadstore.ClaimSessions(bad); err == nil {
			t.Errorf("ClaimSessions(%x) = nil error, want corrupt", bad)
		}
	}
}

// Claims of many leads in one ClaimAll (more than one script call takes)
// each get their own result, in order.
func TestClaimAllOfManyLeads(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	ctx := context.Background()
	p := kafkatest.Prefix(t)
	var first, second []*leadstore.Claim
	for i := range 150 {
		lead := leadstore.LeadRedisKey(p, "ws|d"+strconv.Itoa(i)+".com")
		for _, sk := range []string{"", strconv.Itoa(i) + ":1"} {
			first = append(first, &leadstore.Claim{Key: lead, Automation: "aut", SessionKey: sk, Owner: "ev-" + strconv.Itoa(i), TTL: time.Hour})
			// The even leads' claims are made again by their owner, the
			// odd ones' by someone else.
			owner := "ev-" + strconv.Itoa(i)
			if i%2 == 1 {
				owner = "other"
			}
			second = append(second, &leadstore.Claim{Key: lead, Automation: "aut", SessionKey: sk, Owner: owner, TTL: time.Hour})
		}
	}
	if err := leadstore.ClaimAll(ctx, rdb, first); err != nil {
		t.Fatal(err)
	}
	if err := leadstore.ClaimAll(ctx, rdb, second); err != nil {
		t.Fatal(err)
	}
	for i, c := range first {
		want := int64(leadstore.ClaimOwn)
		if (i/2)%2 == 1 {
			want = leadstore.ClaimTaken
		}
		if c.Result != leadstore.ClaimNew || second[i].Result != want {
			t.Fatalf("claim %d (%s %q): %d then %d, want new then %d", i, c.Key, c.SessionKey, c.Result, second[i].Result, want)
		}
	}
}
