// Package reconcile keeps the proxy's registry in step with the desired
// state read from the config file.
//
// It is level-based, in the manner of controller-runtime: events (a new
// config, a reconnect, a drift timer) only mark work as due; every pass
// compares the whole desired state (Desired, built from a *config.Config)
// with what this agent has made live in the current session (Applied) and
// computes a Plan with the pure function Plan. The executor sends a plan
// through the protocol client as few pipelined writes as the ids returned
// by the server allow, and updates Applied only from the replies.
//
// The parts, each in its file: Run is the loop (loop.go): a pass is due on
// a signal, a timer or after an error with backoff, and a TerminalError is
// not retried. The pass (pass.go, session.go) owns Applied and what the
// next pass must do first: recover after a failure, re-read for drift,
// start over in a new session. The board (status.go) is the one place
// shared with other goroutines, under a mutex: SetDesired posts the desired
// state there, and every pass publishes its outcome for Status and Applied.
//
// The rules every plan obeys are written down in docs/planner.md; comments
// cite them as "planner rule N".
//
// The planner is written for what the real server does, not for what the
// protocol promises (docs/PROTOCOL.md): CONFIG_APPLY adds before it removes
// and a removal deletes every proxy route with the same path and an
// overlapping domain (§4), so a changed route is always removed in one apply
// and added in a later one; headers and options only reach routes added in
// the apply that staged them (§4); maintenance lives on a backend object
// shared by the routes with the same backend URL string and gone with the
// last of them (§5, §9); a new session, in this process or the next, starts
// empty while the old one's routes stay served as orphans (§7).
package reconcile
