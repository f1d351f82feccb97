// Package traffic generates realistic raw session events (DESIGN 1.2) for
// `leadflow bench` and `leadflow dev --demo`, deterministically from a seed,
// and keeps a Ledger of what it generated so that the webhooks the
// pipeline should send can be computed and checked.
//
// # Model
//
// A Generator keeps Config.ActiveSessions sessions in flight and emits the
// next event of a randomly chosen one, so sessions interleave as they do on
// real sites. Every session belongs to a visitor:
//
//   - company visitors (Config.IdentifiableShare of sessions) come from a
//     business network of a sample data set's networks.jsonl (the guide's
//     Netcontrol 198.51.100.0/24 and MDX 203.0.113.0/24 among them);
//   - bots (Config.BotShare) send crawler user agents, mostly from hosting
//     networks, some from business networks (they must make no lead);
//   - everyone else comes from ISP networks (192.0.2.0/24 and the generated
//     ones), hosting and education networks, or addresses in no network.
//
// A session is a landing pageview (with a source: search, paid search with
// UTM parameters and a click id, social, newsletter, referral or direct),
// then more pageviews on the same site, each followed by pings whose
// time_spent grows. Visitors come back for more sessions (same visitor_id,
// new session_id) after other sessions have started. A small share of
// events can be malformed on purpose (Config.MalformedShare).
//
// Timestamps are the wall-clock time passed to Next (the send time), so the
// end-to-end latency of a webhook can be measured from the raw event.
//
// # Correlation
//
// With Config.Marker set, every pageview URL of a session carries the query
// parameter lf_sid=SESSION_ID. Webhook subjects show the session's pageview
// URLs, so a receiver can tell which session a new_session (or new_lead)
// subject is about (ParseMarker). `leadflow bench` sets it; the demo does not.
//
// # Concurrency
//
// A Generator is used by one goroutine. Its Ledger is safe for concurrent
// use (the producer reports failed records to it while receivers look
// sessions up).
package traffic
