// Package faultnet is an in-process TCP relay for tests: it sits between a
// client and a server on loopback and injects network faults on command.
//
// A Relay listens on 127.0.0.1 and forwards every accepted connection to its
// target. While running it can add one-way latency in each direction, reset
// every connection, stop forwarding without closing (half-open), refuse new
// connections while keeping its address, and cut the client→server stream
// after a chosen number of bytes.
//
// Each direction of a connection has one reader and one delivery goroutine.
// The reader stamps every chunk with the time it was read; the delivery
// goroutine writes it once the latency has elapsed. Data is therefore
// delayed, never rate limited: pipelined traffic arrives about d later, not
// n*d later, and order is preserved.
//
// Blackholed data is discarded, not held: bytes read while the blackhole is
// on (or still in flight when it is switched on) never reach the other side,
// and only new data is forwarded once it is switched off. That is what a
// silently dropped link looks like to both peers.
package faultnet
