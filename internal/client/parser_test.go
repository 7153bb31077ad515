package client

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// collect feeds chunks in order and returns the lines seen.
func collect(tb testing.TB, p *parser, chunks ...[]byte) ([]string, error) {
	tb.Helper()
	var got []string
	for _, c := range chunks {
		if err := p.feed(c, func(l []byte) error { got = append(got, string(l)); return nil }); err != nil {
			return got, err
		}
	}
	return got, nil
}

func TestParserSplitsAtEveryPoint(t *testing.T) {
	in := "ACK|inst1-1-2\r\nROUTE_OK|r1\n\nMAINT_OK|ALL\r\n\r\nROUTE_LIST_OK|[{\"a\":\"b|c\"}]\nPONG\n"
	want := []string{"ACK|inst1-1-2", "ROUTE_OK|r1", "MAINT_OK|ALL", `ROUTE_LIST_OK|[{"a":"b|c"}]`, "PONG"}
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			var p parser
			got, err := collect(t, &p, []byte(in[:i]), []byte(in[i:j]), []byte(in[j:]))
			if err != nil {
				t.Fatalf("split %d,%d: %v", i, j, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("split %d,%d: got %q, want %q", i, j, got, want)
			}
			if p.pending() != 0 {
				t.Fatalf("split %d,%d: %d bytes left", i, j, p.pending())
			}
		}
	}
}

func TestParserByteAtATime(t *testing.T) {
	in := "A|1\r\nB\n"
	var p parser
	var chunks [][]byte
	for i := range len(in) {
		chunks = append(chunks, []byte{in[i]})
	}
	got, err := collect(t, &p, chunks...)
	if err != nil || !reflect.DeepEqual(got, []string{"A|1", "B"}) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestParserKeepsIncompleteLine(t *testing.T) {
	var p parser
	got, _ := collect(t, &p, []byte("PONG\nROUTE_O"))
	if !reflect.DeepEqual(got, []string{"PONG"}) || p.pending() != len("ROUTE_O") {
		t.Fatalf("got %q, pending %d", got, p.pending())
	}
	got, _ = collect(t, &p, []byte("K|r2\n"))
	if !reflect.DeepEqual(got, []string{"ROUTE_OK|r2"}) {
		t.Fatalf("got %q", got)
	}
}

func TestParserLongLine(t *testing.T) {
	for _, chunks := range [][]string{
		{strings.Repeat("x", 11)},
		{strings.Repeat("x", 6), strings.Repeat("x", 6)},
		{strings.Repeat("x", 6), strings.Repeat("x", 6) + "\n"},
		{strings.Repeat("x", 11) + "\n"},
	} {
		p := parser{max: 10}
		var bs [][]byte
		for _, c := range chunks {
			bs = append(bs, []byte(c))
		}
		if _, err := collect(t, &p, bs...); !errors.Is(err, ErrProtocol) {
			t.Fatalf("%q: err=%v, want ErrProtocol", chunks, err)
		}
	}
	p := parser{max: 10}
	if got, err := collect(t, &p, []byte(strings.Repeat("y", 10)+"\r\n")); err != nil || len(got) != 1 {
		t.Fatalf("exactly max: %q, %v", got, err)
	}
}

func TestParserStopsOnCallbackError(t *testing.T) {
	var p parser
	stop := errors.New("stop")
	n := 0
	err := p.feed([]byte("A\nB\nC\n"), func([]byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err=%v n=%d", err, n)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		line    string
		kind    lineKind
		rkind   string
		payload string
		fields  []string
	}{
		{"ROUTE_OK|r13", lineReply, "ROUTE_OK", "r13", []string{"r13"}},
		{"ACK", lineReply, "ACK", "", nil},
		{"ERROR|no session", lineReply, "ERROR", "no session", []string{"no session"}},
		{"ERROR|route r24: path cannot be empty", lineReply, "ERROR", "route r24: path cannot be empty", []string{"route r24: path cannot be empty"}},
		{"ERROR|timeout waiting for maintenance page to become reachable", lineMaintTimeout, "ERROR", "timeout waiting for maintenance page to become reachable", nil},
		{"ERROR|timeout waiting for backend to become reachable", lineMaintTimeout, "ERROR", "timeout waiting for backend to become reachable", nil},
		{"ERROR|timeout", lineReply, "ERROR", "timeout", nil},
		{"MAINT_OK|r1,r2", lineMaintOK, "MAINT_OK", "r1,r2", nil},
		{"MAINT_OK|ALL", lineMaintOK, "MAINT_OK", "ALL", nil},
		{"MAINT_STATUS_OK|{}", lineReply, "MAINT_STATUS_OK", "{}", nil},
		{"EVENT|route|{\"x\":1}", lineEvent, "EVENT", "route|{\"x\":1}", []string{"route", "{\"x\":1}"}},
		{"SHUTDOWN", lineShutdown, "SHUTDOWN", "", nil},
		{"SHUTDOWN_OK", lineReply, "SHUTDOWN_OK", "", nil},
		{"DRAIN_OK|2026-01-01T00:00:00Z", lineReply, "DRAIN_OK", "2026-01-01T00:00:00Z", nil},
	} {
		kind, r := classify(tc.line)
		if kind != tc.kind || r.Kind != tc.rkind || r.Payload != tc.payload {
			t.Errorf("classify(%q) = %v %q %q, want %v %q %q", tc.line, kind, r.Kind, r.Payload, tc.kind, tc.rkind, tc.payload)
		}
		if tc.fields != nil && !reflect.DeepEqual(r.Fields, tc.fields) {
			t.Errorf("classify(%q).Fields = %q, want %q", tc.line, r.Fields, tc.fields)
		}
	}
}

// FuzzParse checks that the parser's output does not depend on how the input
// is split, that lines never carry a line ending, and that classification
// never loses text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ACK|inst1-1795652634-331452\r\n",
		"ROUTE_OK|r13\nMAINT_OK|ALL\nROUTE_OK\n",
		"ERROR|timeout waiting for backend to become reachable\n\n\r\n",
		"ROUTE_BULK_OK|[{\"route_id\":\"r20\",\"status\":\"ok\"}]\nPON",
		"\r\r\n\n|\n||\nEVENT|x|{}\nSHUTDOWN\n",
	} {
		f.Add([]byte(s), uint16(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		var whole parser
		want, err1 := collect(t, &whole, data)
		k := int(split) % (len(data) + 1)
		var parts parser
		got, err2 := collect(t, &parts, data[:k], data[k:])
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("split at %d: got %q (%v), want %q (%v)", k, got, err2, want, err1)
		}
		for _, l := range got {
			if l == "" || strings.Contains(l, "\n") || strings.HasSuffix(l, "\r") {
				t.Fatalf("bad line %q", l)
			}
			_, r := classify(l)
			rebuilt := r.Kind
			if r.Fields != nil {
				rebuilt += "|" + strings.Join(r.Fields, "|")
				if r.Payload != strings.Join(r.Fields, "|") {
					t.Fatalf("payload %q vs fields %q", r.Payload, r.Fields)
				}
			}
			if rebuilt != l {
				t.Fatalf("classify(%q) rebuilt %q", l, rebuilt)
			}
		}
	})
}
