// Command regagent keeps the go-proxy reverse proxy in step with one YAML file.
//
// The pieces fit in one direction: internal/config loads, validates and
// watches the file; internal/reconcile diffs the desired state against what
// was applied and plans the fewest commands; internal/client speaks the
// registry protocol over one persistent connection; internal/agent runs those
// three together as the daemon. This package only parses flags, sets up
// logging and signals, and maps errors to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"regagent/internal/redact"
)

// Exit codes are part of the command's interface (see README).
const (
	exitOK       = 0
	exitError    = 1 // invalid config, bad usage, runtime failure
	exitChanges  = 2 // plan: changes pending
	exitNotReady = 3 // status: the agent answers and is not ready
)

// exitCodeError carries an exit code other than exitError through run.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

func main() {
	os.Exit(mainExit())
}

// mainExit runs the command with the process's environment and returns its
// exit code. The first SIGINT/SIGTERM cancels the context (graceful
// shutdown); a second one exits at once.
func mainExit() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	// done, not ctx: after the first signal ctx is already cancelled, and
	// the second signal must still be heard while shutdown runs.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(os.Stderr, "regagent: second signal, exiting now")
			os.Exit(exitError)
		case <-done:
		}
	}()

	env := &environment{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.LookupEnv,
	}
	return exitCode(run(ctx, os.Args[1:], env), env.stderr)
}

// exitCode prints err (unless already printed) and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code := exitError
	var ce *exitCodeError
	if errors.As(err, &ce) {
		code = ce.code
	}
	// An exitCodeError without an error is an outcome already printed.
	if ce == nil || ce.err != nil {
		fmt.Fprintf(stderr, "regagent: %s\n", redact.URLPasswords(err.Error()))
	}
	return code
}

// environment is what a command may touch of the process.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
}
