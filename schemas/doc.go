// Package schemas holds leadflow's wire types: the raw session event that
// comes in (RawEvent, DESIGN 1.2), the enriched Hit passed between stages,
// and the webhook subjects that go out (Lead, Contact, Company, Payload,
// DESIGN 1.3), with the guide's samples as Go values (Guide*), golden
// fixtures (testdata/) and JSON Schemas (JSONSchemaFS).
//
// # Encoding
//
// Webhook subjects are encoded by hand-written append encoders (AppendJSON),
// not by reflection: key order is the guide's, unknown values are null and
// never missing keys, and the company is written with or without "phone"
// depending on the payload (see Company). The encoders allocate nothing
// beyond growing dst.
//
// # Decoding
//
// One JSON scanner (scanner.go) reads the hot internal formats; everything
// else (control plane, admin API, contacts, sample data files) decodes with
// github.com/goccy/go-json. On the scanner: raw events (RawDecoder, the
// enrich stage), hits (Hit.UnmarshalJSON, the leads stage; semantics at
// decodeHit in hit_decode.go), lead changes, leads and companies
// (LeadChange.UnmarshalJSON, DecodeChangeWithoutSessions, DecodeChangeHead,
// ChangeCompanyJSON, the evaluate stage; semantics at the top of
// change_decode.go), and, through the exported Scanner, the deliver stage's
// delivery requests and retry envelopes. Each of them stays because it beats
// goccy's fastest API on a pre-built type by more than 20% in the same
// benchmark run (docs/performance.md, "Decoders"; BenchmarkDecode*).
//
// Output is compact JSON with these choices:
//
//   - '/' is not escaped. The guide's samples show PHP's `\/`; JSON parsers
//     read both the same, and receivers verify the signature over the bytes
//     we send, so escaping would only make bodies longer. The guide's text is
//     not byte-reproducible anyway (its layout comes from a web page). Tests
//     compare with the guide canonically and by key order.
//   - No HTML escaping: '&', '<' and '>' are written as they are (URLs with
//     query strings stay readable, as in the guide).
//   - Non-ASCII is raw UTF-8; invalid UTF-8 becomes U+FFFD; U+2028 and
//     U+2029 are escaped so bodies can be embedded in JavaScript.
//   - Numbers are formatted as encoding/json formats them (7867000,
//     63.216671); NaN and infinities, which JSON cannot hold, become null.
//
// # Raw events
//
// RawDecoder is a strict scanner for the flat raw-event object: exact keys,
// no repeats, and by default no unknown keys (see RawDecoder for why and how
// to relax it). Every error wraps ErrBadEvent and names the field when there
// is one, for the dead-letter reason header.
package schemas
