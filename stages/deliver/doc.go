// Package deliver is the deliver stage: it consumes delivery requests
// (schemas.DeliveryRequest on leadflow.deliveries, keyed by webhook id) and
// sends them as batched, HMAC-signed webhook requests (DESIGN 1.3), with
// retries through delay-tier topics, dead letters, circuit breaking, and
// bounded memory whatever the backlog.
//
// # Flow
//
// Process decodes each record (a small scanner, no reflection, no copy of
// the subject) and queues it on its endpoint; it waits only for a healthy
// endpoint whose queue is full (see Backpressure). Each endpoint has one
// open batch per event, sealed when it has max_subjects subjects, when the
// next subject would take the body over max_bytes, after a subject whose
// request id is a cut point (stable_batches: a replay after a crash forms
// the same requests), or after linger; sealed requests wait in a FIFO for
// one of max_in_flight send slots (the webhook's own max_in_flight, up to
// max_in_flight_cap, replaces the stage's; likewise its rate_limit). Sealing sorts the subjects by trigger time,
// derives the webhook-id from the webhook and the ordered request ids
// (MessageID), and builds the body with schemas.AppendPayload. A sealed
// request never changes: every retry sends the same bytes under the same
// webhook-id (with a fresh webhook-timestamp and webhook-signature).
//
// # Results
//
// One classifier (classify) decides: 2xx is delivered; 410 disables the
// endpoint (Endpoints.Disable) and dead-letters its requests with reason
// "disabled" (replayable once it is enabled again); 429 or 503 with a
// Retry-After up to retry_after_max pauses the endpoint for that long and
// uses up no attempt (backpressure is not a failure), to the second: a wait
// longer than in_process_retry_max goes through the longest tier not
// longer than it with HeaderNotBefore, and the rest is waited in process
// (bounded by tier_hold_max_*) or through the next tier that fits; a non-public
// address dead-letters with reason "private_address"; anything else
// (other statuses, redirects, timeouts, connection errors) uses up an
// attempt and is retried per retry_schedule. A wait up to
// in_process_retry_max happens in process (a timer; the request keeps its
// place at the head of the queue); a longer one goes through the tier
// topic deliveries.retry.<wait>. After the last attempt the request goes to
// deliveries.dlq with pipeline.HeaderError, HeaderReason
// ("retries_exhausted") and HeaderStage, and its retry state (HeaderAttempt,
// HeaderMessageID, HeaderFirstAttempt, HeaderLastError, HeaderLastStatus).
// Replay re-queues dead letters.
//
// Retry and dead-letter records hold a whole request: the value is
// {"requests":[R1,...]} with each delivery request exactly as it was
// received, and the retry state is in headers. A record with attempt 0 was
// never sent (spilled or deferred): its subjects are batched again. One
// with attempts is resent as the same request. A request whose record
// would exceed retry_record_max_bytes is split in two first.
//
// # Retry tiers
//
// The stage consumes its own tier topics. Records of a tier are written
// with due = now + the tier's delay, so each partition is in due order: the
// stage takes records while they are due; at the first that is not, it
// holds it and what follows (a Hold each, so nothing is committed), pauses
// the partition (Batch.PauseFetching) and sets one timer for the head.
// Nothing sleeps in Process and nothing polls. Held tier records count
// against the runtime's in-flight bounds, so they are capped by
// tier_hold_max_records/bytes (at most half of the runtime's bounds); what
// is fetched past the cap is written back to the end of its tier.
//
// # Backpressure
//
// A busy endpoint is not a failing one. When a healthy endpoint's queue is
// full (queue_size), the partition worker in Process waits for room, which
// comes as soon as one of its requests is sent; fetching of the partition
// stops at the runtime's bounds meanwhile. So a burst goes out in order at
// the endpoint's speed, through no retry tier. An endpoint that makes no
// room within queue_wait_max is slow: until its queue is empty, what does
// not fit is deferred (reason "slow") to the longest tier within its
// queue's expected drain time, so it holds back the other endpoints of its
// partition for at most queue_wait_max.
//
// # Isolation and bounded memory
//
// A slow or failing endpoint cannot hold back the others for long: each
// endpoint sends on its own slots, a slow one is waited for at most
// queue_wait_max, and what a failing endpoint cannot queue (its
// queue_size), or what the process-wide max_queued and max_queued_bytes
// leave no room for, is spilled to the spill_delay tier (1s, consumed
// again almost at once; attempt count unchanged), so its input records
// are committed as soon as Kafka has the spill. Spills are counted per
// webhook in a log line naming the setting to raise. An open circuit breaker (breaker_failures failures in a
// row; one probe after breaker_cooldown, doubling up to
// breaker_cooldown_max) or a Retry-After longer than in_process_retry_max
// hands the endpoint's queue and new arrivals to the tier that covers the
// wait, again without using attempts; after max_age of such waiting a
// request is dead-lettered with reason "expired". So what is in memory is:
// queued subjects (bounded), requests in flight (max_in_flight per
// endpoint, each up to max_bytes), hand-offs awaiting Kafka's ack (the
// runner's producer buffer), held tier records (tier_hold_*), and what the
// runtime fetched (its own bounds).
//
// Every process publishes each webhook's breaker, queued, in-flight and
// retrying counts to Redis every StatusInterval (status.go, at most
// StatusMaxWebhooks per process, expiring after StatusTTL); the console's
// Endpoints page sums them with ReadWebhookStates.
//
// An in-flight request keeps the input batches of its subjects unfinished,
// and the runtime counts whole batches against partition_max_records: a
// hanging endpoint pins at most max_in_flight requests for up to timeout.
// DefaultConfig raises the runtime bounds for this; with many hanging
// endpoints on one partition, lower runtime.max_batch_records.
//
// # Crashes
//
// Offsets are committed only for records whose subjects were delivered or
// handed to a tier or the dead-letter topic (Kafka acknowledged the record).
// Retry and dead-letter records hold subjects of many input batches, so the
// stage produces them as shared outputs of the runtime
// (pipeline.Hold.EmitShared, through the runner's client and its one
// produce classifier) and releases every one of those batches once Kafka
// acknowledges the record. A crash loses nothing: the next owner
// reads the unfinished records again and sends them again (at least once;
// the same batch gets the same webhook-id, and subjects carry natural ids).
// Shutdown makes a graceful stop fast: it seals open batches and hands
// waiting work to its tier so the runner can commit it.
//
// # Signing
//
// Signature is lowercase hex HMAC-SHA256(secret, body) and
// webhook-signature is "v1," + base64 HMAC-SHA256(secret, id.timestamp.body),
// both keyed with the secret's bytes as they are (a Standard Webhooks
// library that expects "whsec_" + base64 keys must be given
// "whsec_" + base64(secret)). The bytes signed are the bytes sent.
//
// # Outbound safety
//
// Redirects are never followed, response bodies are read up to 64 KiB,
// no proxy is used, and unless allow_private_networks is set the dialer's
// Control function refuses loopback, private, link-local, CGNAT,
// unspecified, multicast, documentation and other special-purpose
// addresses at connect time, after DNS resolution (PublicAddr).
package deliver
