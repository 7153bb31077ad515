package client

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// collect feeds chunks in order and returns the lines seen; a line over the
// limit is returned as "TOO LONG:" and its head.
func collect(tb testing.TB, p *parser, chunks ...[]byte) ([]string, error) {
	tb.Helper()
	var got []string
	line := func(l string) error { got = append(got, l); return nil }
	long := func(h string) error { got = append(got, "TOO LONG:"+h); return nil }
	for _, c := range chunks {
		if err := p.feed(c, line, long); err != nil {
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

// A line over the limit is dropped as it arrives (nothing of it is kept but
// its head), reported once its end comes, and the lines after it still parse.
func TestParserLongLine(t *testing.T) {
	for _, chunks := range [][]string{
		{strings.Repeat("x", 11) + "\nA|1\n"},
		{strings.Repeat("x", 6), strings.Repeat("x", 6) + "\nA|1\n"},
		{strings.Repeat("x", 6), strings.Repeat("x", 6), strings.Repeat("x", 6), "\nA|1", "\n"},
		{strings.Repeat("x", 11), "\r\nA|1\n"},
		{strings.Repeat("x", 10) + "\r", "\r", "\nA|1\n"},
	} {
		p := parser{max: 10}
		var bs [][]byte
		for _, c := range chunks {
			bs = append(bs, []byte(c))
			if p.pending() > 11 {
				t.Fatalf("%q: %d bytes kept, limit 10", chunks, p.pending())
			}
		}
		got, err := collect(t, &p, bs...)
		if err != nil || len(got) != 2 || !strings.HasPrefix(got[0], "TOO LONG:xxxxxx") || got[1] != "A|1" {
			t.Fatalf("%q: got %q, %v; want the long line reported, then A|1", chunks, got, err)
		}
		if p.pending() != 0 {
			t.Fatalf("%q: %d bytes left", chunks, p.pending())
		}
	}
	p := parser{max: 10}
	if got, err := collect(t, &p, []byte(strings.Repeat("y", 10)+"\r"), []byte("\n")); err != nil || len(got) != 1 || got[0] != strings.Repeat("y", 10) {
		t.Fatalf("exactly max: %q, %v", got, err)
	}
	p = parser{max: 100}
	big := strings.Repeat("z", 1000)
	got, err := collect(t, &p, []byte("ROUTE_LIST_OK|"+big), []byte(big), []byte("\n"))
	if err != nil || len(got) != 1 || got[0] != "TOO LONG:ROUTE_LIST_OK|"+strings.Repeat("z", headLen-len("ROUTE_LIST_OK|")) {
		t.Fatalf("head of a long line: %q, %v", got, err)
	}
}

func TestParserStopsOnCallbackError(t *testing.T) {
	var p parser
	stop := errors.New("stop")
	n := 0
	err := p.feed([]byte("A\nB\nC\n"), func(string) error { n++; return stop }, nil)
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
			if strings.Contains(l, "|") {
				rebuilt += "|" + r.Payload
			}
			if r.Fields != nil && r.Payload != strings.Join(r.Fields, "|") {
				t.Fatalf("payload %q vs fields %q", r.Payload, r.Fields)
			}
			if rebuilt != l {
				t.Fatalf("classify(%q) rebuilt %q", l, rebuilt)
			}
		}
	})
}
