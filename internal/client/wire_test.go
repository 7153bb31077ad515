package client

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAppendLine(t *testing.T) {
	for _, tc := range []struct {
		cmd  Command
		want string
	}{
		{Command{Name: "PING"}, "PING|s1\n"},
		{Command{Name: "REGISTER", Args: []string{"svc", "i1", "3001", "{}"}}, "REGISTER|svc|i1|3001|{}\n"},
		{Command{Name: "ROUTE_REMOVE", Args: []string{"r1"}}, "ROUTE_REMOVE|s1|r1\n"},
		{Command{Name: "MAINT_ENTER", Args: []string{"ALL", ""}}, "MAINT_ENTER|s1|ALL|\n"},
	} {
		got, err := appendLine(nil, "s1", tc.cmd)
		if err != nil || string(got) != tc.want {
			t.Errorf("appendLine(%v) = %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
}

func TestAppendLineRefusesUnsafe(t *testing.T) {
	for _, cmd := range []Command{
		{Name: "ROUTE_ADD", Args: []string{"a.com", "/x|y", "http://b", "1"}},
		{Name: "HEADERS_SET", Args: []string{"ALL", "X-A", "v\r\nINJECT|x"}},
		{Name: "HEADERS_SET", Args: []string{"ALL", "X-A", "v\n"}},
		{Name: "HEADERS_SET", Args: []string{"ALL", "X-A", "v\r"}},
		{Name: "PING\n"},
		{Name: ""},
	} {
		dst := []byte("keep")
		got, err := appendLine(dst, "s1", cmd)
		if !errors.Is(err, ErrUnsafeField) {
			t.Errorf("%q: err=%v, want ErrUnsafeField", cmd, err)
		}
		if string(got) != "keep" {
			t.Errorf("%q: dst changed to %q", cmd, got)
		}
	}
	if _, err := appendLine(nil, "s|1", Command{Name: "PING"}); !errors.Is(err, ErrUnsafeField) {
		t.Errorf("unsafe session id: err=%v", err)
	}
}

func TestAppendLineBudget(t *testing.T) {
	fits := strings.Repeat("v", LineBudget-len("HEADERS_SET|s1|ALL|X|"))
	if _, err := appendLine(nil, "s1", Command{Name: "HEADERS_SET", Args: []string{"ALL", "X", fits}}); err != nil {
		t.Fatalf("exactly the budget: %v", err)
	}
	_, err := appendLine(nil, "s1", Command{Name: "HEADERS_SET", Args: []string{"ALL", "X", fits + "v"}})
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("one over: err=%v, want ErrLineTooLong", err)
	}
}

func TestPackBulkSplitsUnderBudget(t *testing.T) {
	var rs []Route
	for i := range 3000 {
		rs = append(rs, Route{Domains: []string{"svc.example.com"}, Path: "/p/" + strings.Repeat("x", i%50), Backend: "http://10.0.0.1:8080", Priority: i})
	}
	cmds, counts, err := packBulk(rs, bulkPayloadBudget)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) < 2 {
		t.Fatalf("got %d commands, want a split", len(cmds))
	}
	var back []Route
	total := 0
	for i, c := range cmds {
		line, err := appendLine(nil, strings.Repeat("s", sidReserve), c)
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		if len(line)-1 > LineBudget {
			t.Fatalf("command %d is %d bytes", i, len(line)-1)
		}
		var es []bulkEntry
		if err := json.Unmarshal([]byte(c.Args[0]), &es); err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		if len(es) != counts[i] {
			t.Fatalf("command %d: %d entries, count %d", i, len(es), counts[i])
		}
		total += counts[i]
		for _, e := range es {
			back = append(back, Route{Domains: e.Domains, Path: e.Path, Backend: e.BackendURL, Priority: e.Priority})
		}
	}
	if total != len(rs) {
		t.Fatalf("total %d, want %d", total, len(rs))
	}
	for i := range rs {
		if back[i].Path != rs[i].Path || back[i].Priority != rs[i].Priority {
			t.Fatalf("route %d: got %+v, want %+v", i, back[i], rs[i])
		}
	}
}

func TestPackBulkRefuses(t *testing.T) {
	for name, r := range map[string]Route{
		"pipe in path":    {Path: "/a|b", Backend: "http://x"},
		"newline backend": {Path: "/", Backend: "http://x\n"},
		"comma domain":    {Domains: []string{"a.com,b.com"}, Path: "/", Backend: "http://x"},
	} {
		if _, _, err := packBulk([]Route{{Path: "/ok", Backend: "http://x"}, r}, bulkPayloadBudget); !errors.Is(err, ErrUnsafeField) {
			t.Errorf("%s: err=%v, want ErrUnsafeField", name, err)
		}
	}
	huge := Route{Path: "/" + strings.Repeat("a", bulkPayloadBudget), Backend: "http://x"}
	if _, _, err := packBulk([]Route{huge}, bulkPayloadBudget); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("huge route: err=%v, want ErrLineTooLong", err)
	}
	if cmds, _, err := packBulk(nil, bulkPayloadBudget); err != nil || len(cmds) != 0 {
		t.Errorf("no routes: %v, %v", cmds, err)
	}
}

func TestBatchBuild(t *testing.T) {
	var b Batch
	i := b.RouteAdd(Route{Domains: []string{"a.com", "b.com"}, Path: "/", Backend: "http://x:1", Priority: 5})
	b.HealthSet("r1", "health", 10*time.Second, 5*time.Second)
	b.OptionSet("timeout", "30s")
	b.HeaderSet("X-A", "1")
	b.Apply()
	if i != 0 || b.Len() != 5 || b.err != nil {
		t.Fatalf("i=%d len=%d err=%v", i, b.Len(), b.err)
	}
	buf, err := encode("s1", b.cmds)
	if err != nil {
		t.Fatal(err)
	}
	want := "ROUTE_ADD|s1|a.com,b.com|/|http://x:1|5\nHEALTH_SET|s1|r1|health|10s|5s\nOPTIONS_SET|s1|ALL|timeout|30s\nHEADERS_SET|s1|ALL|X-A|1\nCONFIG_APPLY|s1\n"
	if string(buf) != want {
		t.Fatalf("got %q\nwant %q", buf, want)
	}
	b.RouteAdd(Route{Domains: []string{"a,b"}, Path: "/", Backend: "http://x"})
	if !errors.Is(b.err, ErrUnsafeField) {
		t.Fatalf("Err=%v, want ErrUnsafeField", b.err)
	}
}

func TestBulkRefIDs(t *testing.T) {
	var b Batch
	b.Apply()
	ref := b.RouteAddBulk([]Route{{Path: "/a", Backend: "http://x"}, {Path: "/b", Backend: "http://x"}})
	res := []Result{
		{Reply: Reply{Kind: "OK"}},
		{Reply: Reply{Kind: "ROUTE_BULK_OK", Payload: `[{"route_id":"r7","status":"ok"},{"route_id":"r8","status":"ok"}]`}},
	}
	ids, err := ref.IDs(res)
	if err != nil || strings.Join(ids, ",") != "r7,r8" {
		t.Fatalf("ids=%q err=%v", ids, err)
	}
	res[1] = Result{Err: &ServerError{Command: "ROUTE_ADD_BULK", Message: "invalid json"}}
	ids, err = ref.IDs(res)
	var se *ServerError
	if !errors.As(err, &se) || len(ids) != 2 || ids[0] != "" {
		t.Fatalf("ids=%q err=%v", ids, err)
	}
	if _, err := parseBulkIDs(Reply{Kind: "ROUTE_BULK_OK", Payload: `[{"route_id":"r1","status":"error"}]`}); !errors.As(err, &se) {
		t.Fatalf("status error: %v", err)
	}
}
