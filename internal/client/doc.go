// Package client speaks the go-proxy service registry v2 protocol over one
// persistent TCP connection.
//
// A Client owns exactly one connection at a time. One reader goroutine feeds a
// byte-level line parser (parser.go, no I/O) and hands every line either to the
// oldest waiting command (replies are matched first-in first-out) or, for the
// asynchronous lines of PROTOCOL.md §5 and §6 (MAINT_OK, "ERROR|timeout waiting
// for ...", EVENT, SHUTDOWN), to the event path. Many commands may be in flight:
// Send writes a whole Batch in one write and returns every reply in order.
//
// Nothing unsafe reaches the socket: every field is checked for '|', CR and LF
// and every line against a 60 KiB budget before a single byte of a command or
// batch is written (§1); bulk route payloads are split to fit.
//
// Run connects (retrying forever, DNS failures included), performs the
// handshake, keeps the connection alive with PINGs, and reconnects with
// exponential backoff and jitter. The server cannot restore a session on a new
// connection (§2), so every reconnect normally ends in a fresh REGISTER: the
// Generation counter increments and a Reconnected event with Replay true
// tells the owner (the reconciler) to replay its configuration.
//
// Events are typed values (Connected, Disconnected, MaintResolved, ...)
// delivered in order to Options.OnEvent by one dispatcher goroutine, never
// under a lock and never on the reader goroutine. What they are called in
// logs is the owner's business.
package client
