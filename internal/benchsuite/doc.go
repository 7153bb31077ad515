// Package benchsuite measures regagent end to end: save-to-live latency,
// initial sync against the one-command-per-round-trip pattern, round trips
// and commands per reconcile, peak memory, and the cost of an idle agent
// (RSS, CPU and wakeups). BENCHMARKS.md states the target of each.
//
// It holds only benchmarks and a few fast tests of its own helpers: nothing
// here runs during a plain `go test` beyond those tests. The benchmarks drive
// the in-process agent (internal/agent) or the reconciler and client directly
// against internal/registrysim, with internal/faultnet adding latency, and
// build and run the real regagent binary where a process must be measured
// (RSS and CPU are read from /proc, so those benchmarks need Linux).
//
// scripts/bench runs the whole suite with fixed -benchtime and -count;
// BENCHMARKS.md records its results. All traffic stays on 127.0.0.1.
package benchsuite
