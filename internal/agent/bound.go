package agent

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A log line or a /readyz reason shows at most maxListItems items of a list
// and maxTextBytes bytes of one text. Maintenance of thousands of routes
// names them all in one target (PROTOCOL.md §5): repeated in every line, the
// list would drown the logs and the probes.
const (
	maxListItems = 10
	maxTextBytes = 4 << 10
)

// boundText shortens every comma list of more than maxListItems items in s
// to its first items and "(+N more)", then cuts s to maxTextBytes.
func boundText(s string) string {
	if strings.Count(s, ",") >= maxListItems {
		s = boundCommaLists(s)
	}
	if len(s) <= maxTextBytes {
		return s
	}
	cut := maxTextBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (+%d bytes)", s[:cut], len(s)-cut)
}

// boundCommaLists shortens each space-free run "a,b,c,..." of s.
func boundCommaLists(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexFunc(s, isSpace)
		if i < 0 {
			i = len(s)
		}
		b.WriteString(boundToken(s[:i]))
		s = s[i:]
		j := strings.IndexFunc(s, func(r rune) bool { return !isSpace(r) })
		if j < 0 {
			j = len(s)
		}
		b.WriteString(s[:j])
		s = s[j:]
	}
	return b.String()
}

func boundToken(tok string) string {
	n := strings.Count(tok, ",") + 1
	if n <= maxListItems {
		return tok
	}
	items := strings.SplitN(tok, ",", maxListItems+1)
	last := tok[strings.LastIndexByte(tok, ',')+1:]
	// Keep the punctuation that closes the list ("ids: ...", "(a,b)").
	tail := last[len(strings.TrimRight(last, `:;.)]}"'`)):]
	return fmt.Sprintf("%s (+%d more)%s", strings.Join(items[:maxListItems], ","), n-maxListItems, tail)
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// boundList keeps the first maxListItems items of l, each bounded, and
// "(+N more)" for the rest.
func boundList(l []string) []string {
	n := min(len(l), maxListItems)
	out := make([]string, n, n+1)
	for i := range n {
		out[i] = boundText(l[i])
	}
	if len(l) > n {
		out = append(out, fmt.Sprintf("(+%d more)", len(l)-n))
	}
	return out
}
