// Package leads is the leads stage: it consumes enriched hits (topic
// hits, keyed workspace|domain, so each lead lives on one partition),
// keeps each lead's state in Redis (id, first/last seen, sessions with
// pageviews and durations, lifetime counters) and emits a
// schemas.LeadChange to leads.changes for every hit that changes a lead:
// new_lead, new_session or session_updated, carrying the subject as a
// new_lead webhook shows it, but with only the changed session whole: the
// other recent sessions go by reference (LeadChange.OlderSessions), and
// leadstore.SessionStore, which the evaluate stage runs for an automation
// that fires, rebuilds them exactly from the lead's stored state (a
// session's facts and pageviews never change once stored; stages/leadstore
// holds their fields' names and encodings, the contract between the two
// stages).
//
// # Sessions
//
// Sessions are cut in event time (hit timestamps): a session ends after
// session_timeout without a hit, and a later hit with the same session_id
// starts a new session with a new session key ("LEADID:SEQ"). Pings set
// the current page's time_spent (never add a pageview, never decrease
// it). A lead keeps its recent_sessions most recently changed sessions
// (the subject's recent_sessions, the changed session first) plus older
// open ones up to max_sessions; a session keeps its last max_pageviews
// pageviews. A hit older than its session's last hit by more than the
// timeout is dropped as late; other out-of-order hits are applied. See
// rules.apply.
//
// # Performance
//
// The partition's owner caches lead states in memory (bounded by
// cache_size and cache_max_bytes, shared by its partitions, dropped on
// revoke). A cached lead keeps its most recently changed session decoded,
// its other recent sessions frozen in one block each, and its older ones
// as their numbers only (freeze.go). A batch costs
// at most three Redis round trips, all pipelined: read the cache misses,
// reserve ids for new leads (only if there are any), write the changed
// leads. A write sends only what changed: the small binary head and the
// new session and pageview fields (see codec.go). Hits are decoded by
// schemas.Hit.DecodeShared (their strings are the record's bytes: no
// allocation but a location's) and subjects are encoded from cached
// fragments made by the schemas encoders (change.go).
//
// # Idempotency
//
//   - Duplicate event ids (upstream delivering a hit again at a new
//     offset): each lead remembers its last dedup_window applied event ids
//     (64-bit hashes); a duplicate changes and emits nothing.
//   - Replays of records already applied (after a crash or a rebalance,
//     the runtime re-delivers what was not committed): each lead stores
//     the partition and offset of its last processed record. A record at
//     or below it is not applied again (nothing is double counted) but
//     its change is emitted again, because it may never have been
//     produced. The lead keeps its previous three heads, so the change is
//     rebuilt exactly (same kind, session key, subject, stats) when the
//     lead's replayed records span at most its last three writes; older
//     ones are re-emitted with their kind and session key and the
//     latest subject (see replay.go).
//   - Lead ids come from one INCRBY counter and are stored in the lead's
//     state by the write of its first hit: a lead never gets a second id.
//     A batch that fails after reserving ids leaves a gap in the numbers.
//   - If any Redis step of a batch fails, Process drops the batch's leads
//     from the cache and returns the error; the runtime retries the batch
//     with backoff and commits nothing meanwhile.
package leads
