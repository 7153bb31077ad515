// Package config reads regagent's configuration file: one service and the
// routes a go-proxy registry should send to it.
//
// Parse is a pure function of its input: defaults (defaults.go), then a
// strict decode of the YAML nodes (unknown keys are errors; ${VAR} and
// ${VAR:-default} are expanded in values), then validation (the tags in
// types.go, checked by go-playground/validator and the Go rules of
// rules.go, plus the rules that span fields in semantics.go), each problem
// placed on the YAML node the decoder took the value from. Every problem is
// reported at once, in file order, as an *Error placed like a compiler
// message:
//
//	registry.yaml:14:7: routes[1].backend: "backend:3000" has no scheme (want http://, https://, ws:// or wss://)
//
// A Parser holds what every parse shares, the validator first, built once:
// Watch holds one for all its parses; Parse and Load, for one-shot callers,
// make one per call.
//
// Validation makes the wire safe by construction: no string that travels to
// the registry may hold "|", CR or LF (PROTOCOL.md §1), and lengths are
// bounded so that no single command can reach the server's 64 KiB line limit
// (the bounds and their arithmetic are in rules.go). It also rejects what the
// real server accepts but then mishandles: wildcard domains (§4: hosts match
// exactly), backends net/url cannot parse (§3: partial apply), per-route
// options and headers (§3: not supported; the file only has service-wide
// ones), duplicate domain+path pairs (§4: the proxy keys routes by them).
//
// Memory and time are bounded for any input: a file is read only if it is
// a regular file of at most 32 MiB (internal/regularfile), may hold about a
// million YAML nodes and expand through aliases to twice its size
// (nodes.go, decode.go), and is validated in time linear in its routes and
// errors.
//
// Watch follows the file through every way it gets replaced and delivers
// each new content as an Update; an invalid content is delivered as an error
// and never replaces the last good Config. A save by rename is read at once,
// a write in place after a debounce.
package config
