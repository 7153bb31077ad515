// Package examples holds regagent's deployment examples (Kubernetes,
// Swarm, GitOps, systemd) and the commented example config, which it
// embeds: `regagent demo` runs that file when given none, wherever the
// binary was built from. The tests of this directory keep every example
// valid.
package examples
