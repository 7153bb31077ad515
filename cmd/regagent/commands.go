package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"regagent/internal/config"
	"regagent/internal/redact"
)

const usage = `regagent keeps the go-proxy registry in step with a YAML file.

Usage:
  regagent run [-c FILE] [--proxy ADDR] [--status-addr ADDR] [--state-file PATH]
               [--self-ip IP] [--log-format F] [--log-level L]
                                       the daemon; SIGHUP reloads, SIGTERM shuts down
  regagent validate [-c FILE] [--self-ip IP] [--format text|json] [FILE...]
                                       check files (default the config file); never connects
  regagent plan [-c FILE] [--self-ip IP] (--status-addr ADDR | --from-empty)
                                       what run would change (exit 2 = changes)
  regagent status [--status-addr ADDR] [--format text|json]
                                       what the running agent did (exit 3 = not ready)
  regagent schema                      print the config file's JSON Schema
  regagent demo [-c FILE] [--status-addr ADDR] [--self-ip IP] [--log-format F] [--log-level L]
                                       run against an in-process registry (default: the built-in
                                       example, copied to a temporary file to edit)
  regagent version                     print version information

The config file is -c FILE, else $REGAGENT_CONFIG, else ./registry.yaml.
${SELF_IP} is --self-ip, else $SELF_IP, else this host's first IPv4 address
within service.ip_cidr (any network when unset).
Exit codes: 0 ok, 1 error or invalid config, 2 (plan) changes pending,
3 (status) the agent is not ready.
Run "regagent COMMAND -h" for a command's flags.
`

// run dispatches to a subcommand.
func run(ctx context.Context, args []string, env *environment) error {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, usage)
		return &exitCodeError{code: exitError}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runDaemon(ctx, rest, env)
	case "validate":
		return runValidate(rest, env)
	case "plan":
		return runPlan(ctx, rest, env)
	case "status":
		return runStatus(ctx, rest, env)
	case "schema":
		return runSchema(rest, env)
	case "demo":
		return runDemo(ctx, rest, env)
	case "version":
		return runVersion(rest, env)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(env.stdout, usage)
		return nil
	default:
		fmt.Fprint(env.stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("regagent "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, turning -h into a clean exit and other flag errors
// into a usage error (already printed by the flag package).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return &exitCodeError{code: exitOK}
		}
		return &exitCodeError{code: exitError}
	}
	return nil
}

// noArgs refuses positional arguments a command does not take, rather than
// ignoring them (a file name after the flags would otherwise be dropped).
// The message names the command alone: exitCode adds "regagent: ".
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() == 0 {
		return nil
	}
	name := strings.TrimPrefix(fs.Name(), "regagent ")
	if fs.Lookup("c") != nil {
		return fmt.Errorf("%s takes no arguments, got %q (use -c FILE for a config file)", name, fs.Args())
	}
	return fmt.Errorf("%s takes no arguments, got %q", name, fs.Args())
}

// parseInterspersed parses flags anywhere among the arguments
// ("validate a.yaml --format json") and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// configPath picks the config file: the flag, then $REGAGENT_CONFIG, then
// ./registry.yaml.
func configPath(flagValue string, env *environment) string {
	if flagValue != "" {
		return flagValue
	}
	if v, ok := env.getenv("REGAGENT_CONFIG"); ok && strings.TrimSpace(v) != "" {
		return v
	}
	return "registry.yaml"
}

// reportConfigErrors prints every config error on its own line, compiler
// style, and turns them into a silent exit 1; outcome says what that meant
// ("nothing was sent").
func reportConfigErrors(err error, env *environment, outcome string) error {
	var errs config.Errors
	if !errors.As(err, &errs) {
		return err
	}
	// An invalid file has no list of its secrets: URL passwords at least
	// are masked.
	for _, e := range errs {
		fmt.Fprintln(env.stderr, redact.URLPasswords(e.Error()))
	}
	fmt.Fprintf(env.stderr, "regagent: the config is invalid (%d errors); %s\n", len(errs), outcome)
	return &exitCodeError{code: exitError}
}
