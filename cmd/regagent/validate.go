package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"regagent/internal/agent"
	"regagent/internal/config"
	"regagent/internal/redact"
)

// fileReport is one file's outcome in `validate --format json`.
type fileReport struct {
	File   string        `json:"file"`
	Valid  bool          `json:"valid"`
	Hash   string        `json:"hash,omitempty"`
	Routes int           `json:"routes"`
	Errors []errorReport `json:"errors,omitempty"`
	// SelfIP is what ${SELF_IP} rendered to; Note says when it was only
	// assumed (no address of this host fits the file).
	SelfIP string `json:"self_ip,omitempty"`
	Note   string `json:"note,omitempty"`
	// Warnings are about a valid file: it stays valid.
	Warnings []errorReport `json:"warnings,omitempty"`
}

type errorReport struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Text    string `json:"text"`
}

func runValidate(args []string, env *environment) error {
	fs := newFlagSet("validate", env.stderr)
	format := fs.String("format", "text", "output format: text (file:line:col: path: message) or json")
	cfgFlag := fs.String("c", "", "config file, like the FILE arguments (default $REGAGENT_CONFIG, else ./registry.yaml)")
	selfIP := addSelfIPFlag(fs)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("unknown format %q (want text or json)", *format)
	}
	if *cfgFlag != "" {
		files = append([]string{*cfgFlag}, files...)
	}
	if len(files) == 0 {
		// Like run: $REGAGENT_CONFIG, else ./registry.yaml.
		files = []string{configPath("", env)}
	}
	opts := localParseOptions(env)
	rule := selfIPRule(*selfIP, env)
	var reports []fileReport
	invalid := 0
	for _, path := range files {
		rep := validateFile(path, rule, opts)
		if !rep.Valid {
			invalid++
		}
		reports = append(reports, rep)
		if *format == "text" {
			if rep.Valid {
				fmt.Fprintf(env.stdout, "%s: valid (%d routes)\n", path, rep.Routes)
			}
			for _, e := range append(rep.Errors, rep.Warnings...) {
				fmt.Fprintln(env.stdout, e.Text)
			}
			if rep.Note != "" {
				fmt.Fprintf(env.stderr, "regagent: %s\n", rep.Note)
			}
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return err
		}
	}
	if invalid > 0 {
		return &exitCodeError{code: exitError}
	}
	return nil
}

// validateFile reports on one file, with ${SELF_IP} as rule says; it
// never fails for want of an address, it says what it assumed. An invalid
// file has no list of its secrets: URL passwords at least are masked in
// the messages.
func validateFile(path string, rule agent.SelfIPRule, opts config.ParseOptions) fileReport {
	opts.Filename = path
	rep := fileReport{File: path}
	r, err := rule.Load(path, opts, assumedSelfIP)
	if err == nil {
		cfg := r.Config
		rep.Valid, rep.Hash, rep.Routes = true, cfg.Hash, len(cfg.Routes)
		rep.SelfIP, rep.Note = r.SelfIP, assumption(path, r)
		red := redact.New(r.Config.Secrets)
		rep.Warnings = errorReports(r.Config.Warnings, func(s string) string { return red.String(redact.URLPasswords(s)) })
		return rep
	}
	var errs config.Errors
	if !errors.As(err, &errs) {
		msg := redact.URLPasswords(err.Error())
		rep.Errors = []errorReport{{Message: msg, Text: msg}}
		return rep
	}
	rep.Errors = errorReports(errs, redact.URLPasswords)
	return rep
}

// errorReports reports errs with their texts masked by mask.
func errorReports(errs config.Errors, mask func(string) string) []errorReport {
	var out []errorReport
	for _, e := range errs {
		out = append(out, errorReport{Line: e.Line, Column: e.Col, Path: e.Path, Message: mask(e.Msg), Text: mask(e.Error())})
	}
	return out
}

// localParseOptions render files without connecting anywhere: variables
// from the environment; ${SELF_IP} is SelfIPRule's.
func localParseOptions(env *environment) config.ParseOptions {
	host, _ := os.Hostname()
	return config.ParseOptions{Hostname: host, Lookup: env.getenv}
}
