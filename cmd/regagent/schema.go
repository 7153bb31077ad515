package main

import (
	"fmt"

	"regagent/schema"
)

func runSchema(args []string, env *environment) error {
	fs := newFlagSet("schema", env.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("schema takes no arguments")
	}
	_, err := env.stdout.Write(schema.JSON())
	return err
}
