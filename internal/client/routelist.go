package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// minRouteEntry is the shortest ROUTE_LIST entry a decoder has to accept,
// {"route_id":"r","status":"active"} and its comma: it bounds how many
// entries a payload can hold, so the result is allocated once.
const minRouteEntry = len(`{"route_id":"r","status":"active"},`)

// decodeRoutes decodes a ROUTE_LIST_OK payload (PROTOCOL.md §3) one entry at
// a time, straight from the payload string: no copy of the whole reply, no
// generic values, the result allocated once at its final size. Every entry
// must carry a route id and a status ("active" or "staged") and no empty
// domain, as the server always sends; anything else is a protocol error,
// found before more memory is spent on it.
func decodeRoutes(payload string) ([]RouteInfo, error) {
	// Every entry has a "route_id" key; counting them (bounded by the
	// shortest entry) sizes the result without appending.
	n := min(strings.Count(payload, `"route_id"`), len(payload)/minRouteEntry+1)
	out := make([]RouteInfo, 0, n)
	dec := json.NewDecoder(strings.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%w: ROUTE_LIST_OK: want a JSON array", ErrProtocol)
	}
	var e routeEntry // one for all entries: a new one each would escape
	for dec.More() {
		e = routeEntry{}
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w: ROUTE_LIST_OK entry %d: %v", ErrProtocol, len(out), err)
		}
		if e.ID == "" || e.Status == "" {
			return nil, fmt.Errorf("%w: ROUTE_LIST_OK entry %d: no route_id or status", ErrProtocol, len(out))
		}
		out = append(out, RouteInfo{ID: e.ID, Domains: e.Domains, Path: e.Path, Backend: e.Backend,
			Priority: e.Priority, Status: string(e.Status)})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: ROUTE_LIST_OK: %v", ErrProtocol, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: ROUTE_LIST_OK: data after the array", ErrProtocol)
	}
	return out, nil
}

// routeEntry is RouteInfo as decoded, its domains sized before they are
// allocated.
type routeEntry struct {
	ID       string      `json:"route_id"`
	Domains  domainList  `json:"domains"`
	Path     string      `json:"path"`
	Backend  string      `json:"backend"`
	Priority int         `json:"priority"`
	Status   routeStatus `json:"status"`
}

// routeStatus is "active" or "staged", decoded to constants: the smallest
// entries are mostly status, and an allocation per entry shows.
type routeStatus string

func (st *routeStatus) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"active"`:
		*st = "active"
	case `"staged"`:
		*st = "staged"
	default:
		return fmt.Errorf("status %.20s: want \"active\" or \"staged\"", b)
	}
	return nil
}

// domainList decodes a JSON array of non-empty strings into a slice
// allocated once at its final length, the strings sharing one backing
// string: a hostile list of tiny strings would otherwise cost many times its
// size in slice growth and one allocation per string.
type domainList []string

func (d *domainList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = nil
		return nil
	}
	n, err := countStrings(b)
	if err != nil {
		return err
	}
	out := make([]string, n)
	var sb strings.Builder
	plain := 0 // bytes of the strings without escapes
	eachString(b, func(raw []byte) { plain += len(raw) - 2 })
	sb.Grow(plain)
	eachString(b, func(raw []byte) {
		if bytes.IndexByte(raw, '\\') < 0 {
			sb.Write(raw[1 : len(raw)-1])
		}
	})
	backing, off, i := sb.String(), 0, 0
	eachString(b, func(raw []byte) {
		if err != nil {
			return
		}
		if bytes.IndexByte(raw, '\\') < 0 {
			out[i] = backing[off : off+len(raw)-2]
			off += len(raw) - 2
		} else if uerr := json.Unmarshal(raw, &out[i]); uerr != nil {
			err = uerr
		}
		if err == nil && out[i] == "" {
			err = errors.New("empty domain")
		}
		i++
	})
	if err != nil {
		return err
	}
	*d = out
	return nil
}

// eachString calls fn with every string (quotes included) of the array b,
// which countStrings has checked.
func eachString(b []byte, fn func(raw []byte)) {
	rest := skipSpace(b[1:])
	for len(rest) > 0 && rest[0] == '"' {
		end := stringEnd(rest)
		fn(rest[:end])
		rest = skipSpace(rest[end:])
		if len(rest) > 0 && rest[0] == ',' {
			rest = skipSpace(rest[1:])
		}
	}
}

// countStrings checks that b (valid JSON, as the decoder hands it over) is an
// array of strings and returns their number.
func countStrings(b []byte) (int, error) {
	if len(b) < 2 || b[0] != '[' {
		return 0, errors.New("domains: want an array of strings")
	}
	rest, n := skipSpace(b[1:]), 0
	for len(rest) > 0 && rest[0] != ']' {
		if rest[0] != '"' {
			return 0, errors.New("domains: want an array of strings")
		}
		rest = skipSpace(rest[stringEnd(rest):])
		n++
		if len(rest) > 0 && rest[0] == ',' {
			rest = skipSpace(rest[1:])
		}
	}
	return n, nil
}

// stringEnd returns the index just past the JSON string starting at b[0].
func stringEnd(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}
