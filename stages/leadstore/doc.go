// Package leadstore is the lead's Redis hash: the contract between the
// leads stage, which writes it, and the stages that read it (evaluate
// completes a lead change's older sessions from it, and keeps its own
// claims, whose format and scripts this package holds, and reveal records
// in it).
//
// A lead's state is one Redis hash under LeadRedisKey whose fields are
// compact binary values, each starting with the format version byte
// FormatV1:
//
//	h          the heads: ids, times, counters, position, sessions with
//	           their pageviews' time_spent, the dedup ring, for the
//	           current state and the three before it. Its format is the
//	           leads stage's own (stages/leads/codec.go, built on this
//	           package's primitives; the current head is whole, the three
//	           before it deltas, with version bytes of their own); no other
//	           stage reads it. Leads stored before 2026-12 have a field
//	           per head, h0 .. h3, rewritten as h at their next write.
//	q<seq>.<c> the session's pageviews c*PageviewChunk .. c*PageviewChunk+7:
//	           ChunkField, AppendChunkStart, AppendChunkEntry, DecodeChunk.
//	           The chunk of the newest pageview grows until it is full,
//	           the others never change. Chunk 0 starts with the session's
//	           facts from its first hit (ChunkWithFacts) and is kept as
//	           long as the session, even once its pageviews are not.
//	           A chunk is stored Snappy-compressed when that is smaller
//	           (ChunkSnappy, AppendStoredChunk, ChunkBytes).
//	s<seq>     a session's facts, as sessions were stored before
//	           ChunkWithFacts (immutable; still read): MetaField,
//	           AppendMeta, DecodeMeta.
//	p<seq>.<n> the session's n-th pageview, as leads were stored before
//	           chunks (immutable; the leads stage rewrites such a lead in
//	           chunks at its next write): PageviewField, AppendPageview,
//	           DecodePageview.
//	x:y        a field whose name contains ':' belongs to another stage
//	           (evaluate's claims and reveal records); the leads stage
//	           keeps it while the lead has state, but prunes the claims
//	           of sessions it no longer keeps.
//	c:         the evaluate stage's claims, one 24-byte entry each
//	           (ClaimsField, ClaimAll, PruneClaims); before 2026-12-04 a
//	           field each, fired:AUTOMATION[:LEADID:SEQ] (ClaimName,
//	           still honoured).
//
// Numbers are varints, strings a uvarint length and bytes, nullable
// strings a uvarint length+1 (0 = null). The formats are stored: never
// change an encoding without a new version byte.
//
// SessionStore reads the sessions a lead change refers to.
package leadstore
