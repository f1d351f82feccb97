// Package pipeline is the stage runtime of leadflow: it consumes a stage's
// input topics as one consumer group, hands each partition's records to the
// stage in batches and in order, produces what the stage emits, dead-letters
// what it rejects, and commits an input offset only once everything that
// record caused has been acknowledged by Kafka (at-least-once).
//
// A Runner owns one stage in one process. It bounds the records and bytes
// that are fetched but unfinished, per partition (pausing the partition)
// and per process (stopping polling); it drains or abandons partitions on
// rebalance and on shutdown, never committing unfinished work.
package pipeline

import (
	"context"
)

// Stage is one step of the pipeline. The Runner consumes Inputs as the
// consumer group named by the topic prefix and Name, and calls Process.
//
// Process handles one batch of records of one partition, in offset order.
// It is never called concurrently for the same partition, and is called
// concurrently for different partitions, so a Stage must be safe for
// concurrent use across partitions.
//
// Contract of Process:
//   - Outputs emitted with Batch.Emit and Batch.DeadLetter during the call
//     are produced after it returns nil, in the order emitted.
//   - An error means the batch could not be applied (Redis is down, say):
//     what the call emitted is discarded and the same batch is retried with
//     backoff until it succeeds, the partition is revoked, or the process
//     stops. A stage never returns an error for one bad record: it calls
//     DeadLetter for it and goes on.
//   - A panic is recovered: the batch is retried one record at a time and
//     the record that panics is dead-lettered.
//   - ctx is the partition's context: it is canceled when the partition is
//     revoked or the process stops, and lives no longer than that.
//   - Work that finishes after Process returns (a webhook delivery, say)
//     takes a Hold first; the batch's offsets are committed only after
//     every Hold is released.
//   - Outputs are best encoded in the slabs the batch lends
//     (Batch.Grow, Batch.Keep), which the runtime takes back once the
//     batch is done; a stage that keeps nothing of its input records past
//     the batch says so (RecordRecycler), and its input's buffers are
//     lent again too.
type Stage interface {
	// Name is the stage's name: its consumer group is PREFIX+Name and its
	// metrics carry it as the "stage" label.
	Name() string
	// Inputs lists the full names of the topics the stage consumes.
	Inputs() []string
	// Process handles one batch; see the Stage contract above.
	Process(ctx context.Context, b *Batch) error
}

// PartitionListener is implemented by stages that keep state per input
// partition (a cache of what they own). The Runner calls the methods from
// its group callbacks, never concurrently with Process for the same
// partition.
type PartitionListener interface {
	// PartitionAssigned is called before the first batch of a partition
	// this process now owns.
	PartitionAssigned(topic string, partition int32)
	// PartitionRevoked is called once the partition is no longer owned:
	// after its last Process call returned, and before any other owner
	// can have committed past this process. Drop any cached state for it.
	PartitionRevoked(topic string, partition int32)
}

// OutputSizer is implemented by stages whose outputs can be larger than
// franz-go's default producer batch limit (about 1 MB): the runner's
// producer then accepts batches of up to MaxOutputBytes bytes (the
// broker's limit is still the topic's max.message.bytes). NewRunner calls
// it once.
type OutputSizer interface {
	MaxOutputBytes() int32
}
