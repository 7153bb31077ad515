package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// syntaxError turns a yaml.v3 error into an Error with a line and a column.
// yaml.v3 gives a line only ("yaml: line 3: ..."), none at all on the first
// line or for a bad byte, and its line can be one off; so the position is
// found again in the text where the message says what to look for (a tab,
// a bad byte, an alias), else it is the first character of the line.
func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, found := strings.Cut(rest, ": ")
		if n, convErr := strconv.Atoi(num); convErr == nil && found {
			line, msg = n, text
		}
	}
	e := &Error{File: file, Line: max(line, 1), Msg: "yaml: " + msg, Cause: ErrSyntax}
	switch {
	case isReaderError(msg):
		if off, what := badByte(data); off >= 0 {
			e.Line, e.Col = lineCol(data, off)
			e.Msg = "yaml: " + what
			return e
		}
	case strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token"):
		if off := indentTab(data, e.Line); off >= 0 {
			e.Line, e.Col = lineCol(data, off)
			e.Msg = "yaml: tab character used for indentation; YAML allows spaces only"
			return e
		}
	case strings.HasPrefix(msg, "unknown anchor '"):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		if off := aliasOffset(data, name); off >= 0 {
			e.Line, e.Col = lineCol(data, off)
			return e
		}
	case strings.HasPrefix(msg, "mapping values are not allowed"):
		e.Msg += ` (a value that contains ": " must be quoted; is the file YAML?)`
	}
	e.Col = firstColumn(data, e.Line)
	return e
}

// isReaderError tells the messages of yaml.v3's byte reader, which carry no
// position at all.
func isReaderError(msg string) bool {
	return strings.Contains(msg, "control characters") || strings.Contains(msg, "UTF-8") ||
		strings.Contains(msg, "invalid Unicode character")
}

// badByte returns the offset of the first character YAML does not accept
// (YAML 1.2 §5.1: tab, line breaks and the printable characters) and says
// what it is; -1 if there is none.
func badByte(data []byte) (int, string) {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return off, fmt.Sprintf("invalid UTF-8 (byte 0x%02x); the file must be UTF-8 text", data[off])
		case r == 0:
			return off, "the file contains a NUL byte; it must be text"
		case !yamlPrintable(r) || r == 0xFEFF && off > 0:
			return off, fmt.Sprintf("control character %U is not allowed", r)
		}
		off += size
	}
	return -1, ""
}

func yamlPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r >= 0x20 && r <= 0x7e, r == 0x85:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// indentTab returns the offset of a tab in the indentation of the lines
// around line (yaml.v3 reports such errors a line early or late), or -1.
func indentTab(data []byte, line int) int {
	for l := max(1, line-1); l <= line+1; l++ {
		start := lineStart(data, l)
		if start < 0 {
			break
		}
		for off := start; off < len(data) && (data[off] == ' ' || data[off] == '\t' || data[off] == '-'); off++ {
			if data[off] == '\t' {
				return off
			}
		}
	}
	return -1
}

// aliasOffset returns the offset of the first "*name" in data, or -1.
func aliasOffset(data []byte, name string) int {
	if name == "" {
		return -1
	}
	return bytes.Index(data, []byte("*"+name))
}

// lineStart returns the offset where 1-based line starts, or -1.
func lineStart(data []byte, line int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	return off
}

// firstColumn is the column of the first non-blank character of line, 1 if
// the line is blank or past the end.
func firstColumn(data []byte, line int) int {
	start := lineStart(data, line)
	if start < 0 {
		return 1
	}
	col := 1
	for off := start; off < len(data) && data[off] == ' '; off++ {
		col++
	}
	if start+col-1 >= len(data) || data[start+col-1] == '\n' {
		return 1
	}
	return col
}

// lineCol turns a byte offset into a 1-based line and a 1-based column
// counted in characters.
func lineCol(data []byte, off int) (line, col int) {
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	line = bytes.Count(data[:start], []byte{'\n'}) + 1
	return line, utf8.RuneCount(data[start:off]) + 1
}
