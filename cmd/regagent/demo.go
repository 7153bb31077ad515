package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"regagent/examples"
	"regagent/internal/agent"
	"regagent/internal/registrysim"
)

// runDemo starts an in-process registry on loopback and the agent against
// it, and prints the simulated proxy's routing table after every change, so
// editing the file shows its effect at once. Without -c it runs the
// built-in example from a temporary copy the user can edit. A file that is
// invalid at start is reported and waited on, not fatal: the user is
// editing it.
func runDemo(ctx context.Context, args []string, env *environment) error {
	d := newDaemon("demo", "text", env)
	cfgFlag := d.fs.String("c", "", "config file (default: a temporary copy of the built-in example)")
	statusAddr := d.fs.String("status-addr", "", "also serve the status endpoint here")
	selfIP := addSelfIPFlag(d.fs)
	if err := d.parse(args); err != nil {
		return err
	}
	path := *cfgFlag
	if path == "" {
		p, done, err := exampleCopy(env)
		if err != nil {
			return err
		}
		defer done()
		path = p
	}
	// Maintenance pages count as reachable: the demo has no page server,
	// and an unreachable page would only delay MAINT_OK (PROTOCOL.md §5).
	sim := registrysim.New(registrysim.Options{})
	if err := sim.Start(); err != nil {
		return fmt.Errorf("cannot start the simulated registry: %w", err)
	}
	defer sim.Close()
	fmt.Fprintf(env.stdout, "Simulated go-proxy registry on %s.\nEdit %s and save: the table below follows the file. Stop with Ctrl-C.\n",
		sim.Addr(), path)

	// The simulated registry starts empty each time, so no earlier process
	// can have left anything in it: a state file of this run only, which
	// goes with it.
	stateDir, err := os.MkdirTemp("", "regagent-demo-state-")
	if err != nil {
		return fmt.Errorf("cannot create the demo's state directory: %w", err)
	}
	defer os.RemoveAll(stateDir)

	tp := &tablePrinter{w: env.stdout, sim: sim}
	err = d.run(ctx, agent.Options{
		ConfigPath:         path,
		ProxyAddr:          sim.Addr(),
		StatusAddr:         *statusAddr,
		StateFile:          filepath.Join(stateDir, "regagent.state"),
		SelfIP:             *selfIP,
		OnEvent:            tp.onEvent,
		WaitForValidConfig: true,
	})
	tp.final()
	return err
}

// exampleCopy writes the built-in example to a file of its own for the
// demo to run and the user to edit. done removes it, unless the user
// edited it: then it stays, and done says where.
func exampleCopy(env *environment) (path string, done func(), err error) {
	dir, err := os.MkdirTemp("", "regagent-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("cannot create the demo's directory: %w", err)
	}
	example := examples.Registry()
	path = filepath.Join(dir, "registry.yaml")
	if err := os.WriteFile(path, example, 0o644); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("cannot write the example: %w", err)
	}
	fmt.Fprintf(env.stdout, "Running the built-in example, copied to %s.\n", path)
	return path, func() {
		b, err := os.ReadFile(path)
		if err == nil && bytes.Equal(b, example) || errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(dir)
			return
		}
		fmt.Fprintf(env.stdout, "Your edited file stays at %s.\n", path)
	}, nil
}
