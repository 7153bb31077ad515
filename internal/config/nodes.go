package config

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the YAML values (nodes) of a file. yaml.v3 builds the
// whole node tree before anything can be checked, at roughly 150 bytes a
// node: 32 MiB of "[a,a,a,...]" is 16 million nodes and over 2 GB. A
// million nodes is about 150 MB, and more than any file that can pass
// maxRoutes and maxRouteListBytes needs.
const maxNodes = 1_000_000

// checkNodeCount refuses, before yaml.v3 parses it, a file that may hold
// more than maxNodes nodes, with the error placed where the count crosses
// the limit.
func checkNodeCount(data []byte, file string) error {
	if _, over := nodeStarts(data, maxNodes); over >= 0 {
		line, col := lineCol(data, over)
		return Errors{{File: file, Line: line, Col: col, Cause: ErrTooLong,
			Msg: fmt.Sprintf("the file holds more than %d YAML values; the limit keeps its parsing within a few hundred MB", maxNodes)}}
	}
	return nil
}

// nodeStarts counts what can start a node, which is at least as many as
// there are nodes: every flow indicator (",[]{}?*&!") and every run of
// other non-blank characters count one; ":" and a block entry "- " count
// two, for they can also open a block mapping or sequence around an empty
// value. It stops at the offset where the count passes limit (over), else
// over is -1.
func nodeStarts(data []byte, limit int) (count, over int) {
	count = 1 // the document itself is a node
	inWord := false
	for off, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
			inWord = false
			continue
		case ':':
			count += 2
			inWord = false
		case '-':
			if off+1 == len(data) || isBlank(data[off+1]) {
				count += 2
				inWord = false
			} else if !inWord {
				count++
				inWord = true
			}
		case ',', '[', ']', '{', '}', '?', '*', '&', '!':
			count++
			inWord = false
		default:
			if !inWord {
				count++
			}
			inWord = true
		}
		if count > limit {
			return count, off
		}
	}
	return count, -1
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// maxRoutes is more routes than can fit maxRouteListBytes: the smallest
// route (one one-letter domain, path "/", backend "http://a") takes more
// than 100 bytes in the route list. Checking it before decoding keeps a
// file of many broken routes from costing an error each, hundreds of
// thousands of times.
func maxRoutes() int {
	return maxRouteListBytes / routeListEntryLen(&Route{Domains: []string{"a"}, Path: "/", Backend: "http://a"})
}

// checkRouteCount refuses a routes list longer than maxRoutes, at the first
// route over.
func (p *parseRun) checkRouteCount() bool {
	n := mapValue(p.doc, "routes")
	if n != nil {
		n = deref(n)
	}
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) <= maxRoutes() {
		return true
	}
	over := n.Content[maxRoutes()]
	p.add(over, "routes["+strconv.Itoa(maxRoutes())+"]", ErrTooLong,
		"the file lists %d routes; at most %d fit the registry's route list (see the route list limit)", len(n.Content), maxRoutes())
	return false
}
