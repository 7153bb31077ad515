// Package e2e proves the whole agent end to end: the real regagent binary
// and the in-process agent.Run, driven against internal/registrysim with an
// internal/faultnet relay in between, through the faults an operator would
// meet (proxy restarts, resets, half-open links, an unreachable registry,
// edit storms, invalid edits, maintenance flips, backend switches under
// load, shutdown signals). Every test asserts on the simulated proxy's
// routing table, and reports what the issue asks to measure as greppable
// "e2e: ..." log lines. The package has no non-test code.
package e2e
