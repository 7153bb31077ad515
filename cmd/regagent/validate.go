package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"regagent/internal/config"
	"regagent/internal/hostip"
	"regagent/internal/redact"
)

// fileReport is one file's outcome in `validate --format json`.
type fileReport struct {
	File   string        `json:"file"`
	Valid  bool          `json:"valid"`
	Hash   string        `json:"hash,omitempty"`
	Routes int           `json:"routes"`
	Errors []errorReport `json:"errors,omitempty"`
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
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("unknown format %q (want text or json)", *format)
	}
	if len(files) == 0 {
		// Like run: $REGAGENT_CONFIG, else ./registry.yaml.
		files = []string{configPath("", env)}
	}
	opts := localParseOptions(env)
	var reports []fileReport
	invalid := 0
	for _, path := range files {
		rep := validateFile(path, opts)
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

// validateFile reports on one file. An invalid file has no list of its
// secrets: URL passwords at least are masked in the messages.
func validateFile(path string, opts config.ParseOptions) fileReport {
	opts.Filename = path
	rep := fileReport{File: path}
	cfg, err := config.Load(path, opts)
	if err == nil {
		rep.Valid, rep.Hash, rep.Routes = true, cfg.Hash, len(cfg.Routes)
		red := redact.New(cfg.Secrets)
		rep.Warnings = errorReports(cfg.Warnings, func(s string) string { return red.String(redact.URLPasswords(s)) })
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

// localParseOptions renders files without connecting anywhere: the
// environment, and SELF_IP from this host's interfaces (127.0.0.1 when it
// has none, which is enough to check a file's shape).
func localParseOptions(env *environment) config.ParseOptions {
	selfIP := "127.0.0.1"
	if ip, err := hostip.Detect(""); err == nil {
		selfIP = ip.String()
	}
	host, _ := os.Hostname()
	return config.ParseOptions{
		Hostname: host,
		Lookup: func(name string) (string, bool) {
			if name == "SELF_IP" {
				if v, ok := env.getenv("SELF_IP"); ok {
					return v, true
				}
				return selfIP, true
			}
			return env.getenv(name)
		},
	}
}
