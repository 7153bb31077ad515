package main

import (
	"fmt"
	"runtime/debug"
)

// Stamped at build time with -ldflags "-X main.version=... -X main.commit=...";
// when empty, the module's build information is used.
var (
	version = ""
	commit  = ""
)

func runVersion(args []string, env *environment) error {
	fs := newFlagSet("version", env.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	v, c, goVersion := buildVersion()
	fmt.Fprintf(env.stdout, "regagent %s (commit %s, %s)\n", v, c, goVersion)
	return nil
}

// buildVersion reports the version, commit and Go version the binary was
// built with.
func buildVersion() (v, c, goVersion string) {
	v, c, goVersion = version, commit, "unknown"
	info, ok := debug.ReadBuildInfo()
	if ok {
		goVersion = info.GoVersion
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c, goVersion
}
