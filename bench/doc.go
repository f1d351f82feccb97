// Package bench is `leadflow bench`: it drives realistic traffic
// (bench/traffic) at a controlled rate (bench/producer) into
// leadflow.sessions.raw, runs the pipeline in this process (on the
// embedded Kafka and Redis of `leadflow dev`, or on given ones) or targets
// one running elsewhere, sets up workspaces, webhooks, segments and
// automations through the admin API (bench/adminapi), receives the
// webhooks, and measures throughput in and out of every stage
// (bench/scrape), end-to-end latency (bench/latency), lag and records in
// flight, CPU and memory, and correctness: every expected webhook
// delivered, nothing unexpected (see checker). It prints a progress bar
// and a summary and writes a report (bench/report).
//
// Entry points: Main for the CLI (flags over a scenario from
// bench/scenarios), Run for programs and tests, and for `leadflow dev
// --demo` SetupDemo (a demo workspace through the admin API) and Trickle
// (steady realistic traffic until the context ends).
//
// README.md in this folder is the draft of docs/performance.md: how to run
// it, what each figure means, how correctness is computed.
package bench
