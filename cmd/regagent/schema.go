package main

import (
	"regagent/schema"
)

func runSchema(args []string, env *environment) error {
	fs := newFlagSet("schema", env.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	_, err := env.stdout.Write(schema.JSON())
	return err
}
