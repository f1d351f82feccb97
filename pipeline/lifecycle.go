package pipeline

import "context"

// The lifecycle of a stage beyond Process. A Stage implements the ones it
// needs; whoever assembles the process (stages/system) calls Preflight,
// and the Runner calls Start, Drain and Close, so that nothing outside the
// stage and its runner has to remember how a stage starts and stops. A
// stage's New validates and builds; it starts no goroutine (Start does).

// Preflighter is implemented by stages that check a dependency before
// they consume (evaluate checks that Redis takes its claim commands). The
// process calls Preflight once, before any runner starts; an error stops
// the process from starting, and says what to fix. ctx bounds the check.
type Preflighter interface {
	Preflight(ctx context.Context) error
}

// Starter is implemented by stages that run goroutines of their own
// (deliver's attempt log writer, janitor and status publisher). The
// Runner calls Start once, at the beginning of Run, before its first poll
// and so before any Process call. ctx lives as long as the stage's work:
// the Runner gives the context of Run without its cancellation (its values
// only), so the stage stops what it started in Close, not when ctx ends. An error stops Run before it
// consumes anything: Run still closes the stage (Closer) and returns the
// error. Close must therefore work whether or not Start was called.
type Starter interface {
	Start(ctx context.Context) error
}

// Drainer is implemented by stages whose work outlives Process (Holds).
// The Runner calls Drain once, when the context given to Run is canceled
// and before it waits for its partitions: the stage then finishes or
// hands on its held work quickly (deliver sends open batches at once and
// hands waiting work to its retry tiers) so that the runner can commit it
// within the shutdown timeout. Drain must not block for long; it runs
// concurrently with Process calls that are still returning and with Hold
// callbacks. ctx lives until Run returns. Its error is logged.
type Drainer interface {
	Drain(ctx context.Context) error
}

// Closer is implemented by stages that hold resources (files, goroutines,
// connections). The Runner calls Close once, after it has committed what
// finished, abandoned the rest and closed its Kafka client: no Process
// call or Hold callback that the runner makes follows. ctx bounds the
// close (the Runner gives it 5s). Close must be safe to call again (tests
// close their stages themselves too); its error is returned by Run.
type Closer interface {
	Close(ctx context.Context) error
}
