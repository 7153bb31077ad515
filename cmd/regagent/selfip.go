package main

import (
	"flag"
	"fmt"
	"strings"

	"regagent/internal/agent"
)

// assumedSelfIP is what validate and plan render ${SELF_IP} to when this
// host has no address for the file: enough to check the file's shape.
const assumedSelfIP = "127.0.0.1"

// addSelfIPFlag adds --self-ip, the explicit ${SELF_IP} every command
// takes.
func addSelfIPFlag(fs *flag.FlagSet) *string {
	return fs.String("self-ip", "", "what ${SELF_IP} renders to (default $SELF_IP, else this host's first IPv4 address within service.ip_cidr)")
}

// selfIPRule is the rule of run and demo for the offline commands:
// --self-ip, else $SELF_IP, else detection within service.ip_cidr.
func selfIPRule(flagValue string, env *environment) agent.SelfIPRule {
	if flagValue != "" {
		return agent.SelfIPRule{Override: flagValue}
	}
	v, _ := env.getenv("SELF_IP")
	return agent.SelfIPRule{Override: strings.TrimSpace(v)}
}

// assumption says what an offline command assumed for ${SELF_IP} when the
// host has no address for the file; "" when it assumed nothing.
func assumption(path string, r agent.Rendered) string {
	if r.NoAddress == nil {
		return ""
	}
	return fmt.Sprintf("%s: ${SELF_IP} taken as %s: %v; run would register nothing until an address appears (set SELF_IP or --self-ip to choose one)",
		path, r.SelfIP, r.NoAddress)
}
