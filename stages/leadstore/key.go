package leadstore

import (
	"strconv"
	"strings"
)

// LeadRedisKey is the Redis key of a lead's state (a hash) under prefix
// (config redis.key_prefix, default "lf:"); the hash tag keeps every key
// of a lead on one Redis Cluster slot. The evaluate stage keeps the
// lead's claims and reveal records in it.
func LeadRedisKey(prefix, leadKey string) string {
	return prefix + "lead:{" + leadKey + "}"
}

// MetaField names the field of the facts of the lead's session seq.
func MetaField(seq uint64) string {
	return "s" + strconv.FormatUint(seq, 10)
}

// AppendPageviewField appends the name of the field of the n-th pageview
// of the lead's session seq.
func AppendPageviewField(dst []byte, seq, n uint64) []byte {
	dst = append(dst, 'p')
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, n, 10)
}

// PageviewField names the field of the n-th pageview of the lead's
// session seq.
func PageviewField(seq, n uint64) string {
	var buf [48]byte
	return string(AppendPageviewField(buf[:0], seq, n))
}

// AppendSessionKey appends the session key "LEADID:SEQ" of the lead's
// session seq: unique per session instance, since lead ids are unique
// and a lead numbers its sessions 1, 2, ... Lead changes carry it, and
// the new_session claims are named by it (SessionClaimField).
func AppendSessionKey(dst []byte, id int64, seq uint64) []byte {
	dst = strconv.AppendInt(dst, id, 10)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, seq, 10)
}

// claimPrefix starts the name of every claim field of a lead's hash.
const claimPrefix = "fired:"

// SessionClaimField names the field of the lead's hash that holds the
// evaluate stage's once-per-(automation, session) claim of new_session:
// "fired:AUTOMATION:LEADID:SEQ". The field lives as long as its session
// is kept: the leads stage drops it with the session (SessionOfClaim).
func SessionClaimField(automation, sessionKey string) string {
	return claimPrefix + automation + ":" + sessionKey
}

// SessionOfClaim parses a SessionClaimField: the lead id and session
// number of the session it claims. ok is false for any other field (a
// new_lead claim "fired:AUTOMATION" among them).
func SessionOfClaim(field string) (id int64, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(field, claimPrefix)
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
	if j < 0 || j == 0 {
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
