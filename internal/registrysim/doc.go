// Package registrysim is an in-process TCP server that behaves like the real
// go-proxy "service registry v2", quirks and bugs included, so that every other
// package can be tested against the truth rather than against the published
// protocol (docs/PROTOCOL.md, the registry's observed behaviour; § numbers in
// comments refer to it).
//
// Besides the wire protocol it models the proxy's route table (§4, §9): the
// sorted route list, the exact-match map and the backend objects that carry
// maintenance and drain. Resolve tells which backend, maintenance page, drain
// refusal or nothing a request would reach. Options.ShuffleApply reproduces
// the server's random apply order and Options.Now the clock of drains. Fault
// hooks (DropConnections, Freeze, SetResponseDelay, SendRaw, Restart)
// reproduce the failures a client must survive.
//
// registrysim shares no code with internal/client on purpose: a bug shared by
// both would hide from every test.
package registrysim
