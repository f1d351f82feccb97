package leadstore

import (
	"strconv"
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
// the new_session claims are named by it (ClaimName).
func AppendSessionKey(dst []byte, id int64, seq uint64) []byte {
	dst = strconv.AppendInt(dst, id, 10)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, seq, 10)
}
