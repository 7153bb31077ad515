package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/lmittmann/tint"
)

// logFlags are the logging flags shared by run and demo.
type logFlags struct {
	format, level string
}

func addLogFlags(fs *flag.FlagSet, defaultFormat string) *logFlags {
	lf := &logFlags{}
	fs.StringVar(&lf.format, "log-format", defaultFormat, "log format: auto (text on a terminal, else JSON), text or json")
	fs.StringVar(&lf.level, "log-level", "info", "log level: debug, info, warn or error")
	return lf
}

func (lf *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	return newLogger(w, lf.format, lf.level)
}

// newLogger builds the process logger: tint's coloured text when w is a
// terminal (or format is "text"), with config errors on lines of their
// own; JSON lines otherwise (or format "json").
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("cannot use log level %q (want debug, info, warn or error)", level)
	}
	switch strings.ToLower(format) {
	case "auto", "":
		if isTerminal(w) {
			return slog.New(newErrorLines(tint.NewTextHandler(w, &tint.Options{Level: lvl}), w)), nil
		}
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), nil
	case "text":
		return slog.New(newErrorLines(tint.NewTextHandler(w, &tint.Options{Level: lvl, NoColor: !isTerminal(w)}), w)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), nil
	default:
		return nil, fmt.Errorf("cannot use log format %q (want auto, text or json)", format)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
