// Package control is leadflow's control plane: the webhooks, segments,
// personas and automations of every workspace, kept in the compacted
// control topic (topics.Names.Control, one partition) and materialised
// in memory by every process.
//
// # Records
//
// Key KIND/WORKSPACE/ID ("automation/ws_1/aut_…"), value the entity as
// JSON in the admin API's form, nil value (tombstone) for a delete.
// Compaction keeps the latest record per key, so the topic is a complete,
// small snapshot that a starting process reads in full. Readers skip
// kinds and fields they do not know, so the format grows by adding.
//
// # Reading
//
// Store.Start reads the topic to the end offsets it had when called, then
// a goroutine follows new records (a direct consumer of every partition,
// no consumer group, from the start; fetch max wait 100ms). Each fetched
// batch of records is applied to copies of the workspaces it touches and
// published as one new immutable snapshot through an atomic pointer, so
// the hot paths (evaluate per lead change, deliver per request) read
// without locks or allocation: Store.Workspace, Webhook, Segment,
// Persona, Automations. Derived hangs data computed from a workspace
// snapshot on it (compiled filters), built once per change.
//
// # Writing
//
// Store.Put and Delete produce synchronously and wait until this process
// has applied the record (read-your-writes); every other process applies
// it within its fetch max wait. Kafka offers no compare-and-set, so
// writes are last-writer-wins per entity; the admin API serialises its
// own read-modify-writes per workspace.
//
// # Secrets
//
// Webhook.Secret never prints, logs or marshals (Secret.Reveal returns
// it). In the topic it is sealed with AES-256-GCM under the configured
// key (WithSecretKey), with the record key as additional data (a sealed
// secret cannot be moved to another webhook), a random 96-bit nonce, and
// the key's fingerprint (KeyID) so that a reader with the wrong key says
// which key it needs. Without a key secrets are stored marked
// {"alg": "none"} in plain text, and Start warns. A process that cannot
// open a secret refuses to start (ErrSecretKey); one that meets such a
// record later keeps the previous version of that webhook and reports
// not-ready. WithPreviousSecretKeys and Reseal rotate keys.
package control
