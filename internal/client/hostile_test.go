package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// hostileServer is a registry that registers every connection and answers
// ROUTE_LIST with the bytes list returns (written as they are, from a buffer
// built before the client asks, so that the server allocates nothing while
// the client's memory is measured). PING gets PONG.
func hostileServer(tb testing.TB, list func() []byte) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := bufio.NewScanner(nc)
				for sc.Scan() {
					var out []byte
					switch line := sc.Text(); {
					case strings.HasPrefix(line, "RECONNECT|"):
						out = []byte("ERROR|no session\n")
					case strings.HasPrefix(line, "REGISTER|"):
						out = []byte("ACK|s1\n")
					case strings.HasPrefix(line, "ROUTE_ADD|"):
						out = []byte("ROUTE_OK|r1\n")
					case strings.HasPrefix(line, "CONFIG_ROLLBACK|"):
						out = []byte("OK\n")
					case strings.HasPrefix(line, "ROUTE_LIST|"):
						out = list()
					case strings.HasPrefix(line, "PING|"):
						out = []byte("PONG\n")
					default:
						out = []byte("ERROR|unknown command\n")
					}
					if _, err := nc.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// routeList builds "ROUTE_LIST_OK|[e,e,...]\n" of about size bytes.
func routeList(size int, entry func(i int) string) []byte {
	var b bytes.Buffer
	b.Grow(size + 1<<10)
	b.WriteString("ROUTE_LIST_OK|[")
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(entry(i))
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// An over-long reply line fails only the command it answers: the connection,
// and the order of the replies after it, stay intact.
func TestReplyOverCapKeepsConnection(t *testing.T) {
	huge := routeList(maxReplyLine+1<<20, func(i int) string {
		return fmt.Sprintf(`{"route_id":"r%d","domains":["%s.example.com"],"path":"/","backend":"http://x:1","status":"active"}`, i, strings.Repeat("d", 200))
	})
	addr := hostileServer(t, func() []byte { return huge })
	h := connected(t, addr, nil)
	ctx := ctxT(t)
	gen := h.c.Generation()
	for range 2 {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := h.c.ListRoutes(ctx)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrReplyTooLong) {
			t.Fatalf("ListRoutes over the cap: %v, want ErrReplyTooLong", err)
		}
		// What is kept of the line before it is known to be too long:
		// at most the cap, in blocks.
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("reply of %d bytes over a %d cap: allocated %d bytes", len(huge), maxReplyLine, alloc)
		if alloc > maxReplyLine+maxReplyLine/8 {
			t.Fatalf("an over-long reply allocated %d bytes, cap %d", alloc, maxReplyLine)
		}
		if err := ping(ctx, h.c); err != nil {
			t.Fatalf("Ping after the over-long reply: %v", err)
		}
	}
	if n := count[Disconnected](h.rec, nil); n != 0 || h.c.Generation() != gen {
		t.Fatalf("%d disconnects, generation %d → %d: the connection must survive", n, gen, h.c.Generation())
	}
}

// A large or hostile ROUTE_LIST costs a small multiple of its size (was 9× to
// 190×): the line is kept once and joined once (2×), decoded entry by entry
// into a result allocated at its final size. The one shape over 5× is a list
// of one-letter domains: 4 bytes of JSON ("a",) become a 16-byte string
// header, which no []string can avoid.
//
// The bounds are multiples of the reply, so its size only has to dwarf
// what does not grow with it: 2 MiB is 32 of the parser's largest blocks,
// and every shape allocates the same multiple of it as of 10 MiB.
func TestRouteListMemoryBounded(t *testing.T) {
	const size = 2 << 20
	for _, tc := range []struct {
		name    string
		entry   func(int) string
		ceiling float64
		refused bool // a protocol error, found early
	}{
		{"long domains", func(i int) string {
			ds := make([]string, 100)
			for j := range ds {
				ds[j] = fmt.Sprintf(`"%s-%d-%d.example.com"`, strings.Repeat("d", 60), i, j)
			}
			return fmt.Sprintf(`{"route_id":"r%d","domains":[%s],"path":"/p","backend":"http://x:1","priority":1,"status":"active"}`, i, strings.Join(ds, ","))
		}, 5, false},
		{"tiny entries", func(int) string { return `{"route_id":"r","status":"active"}` }, 5, false},
		{"long paths full of pipes", func(int) string {
			return `{"route_id":"r","status":"active","path":"` + strings.Repeat("|", 100000) + `"}`
		}, 5, false},
		{"one-letter domains", func(int) string {
			return `{"route_id":"r","status":"active","domains":[` + strings.Repeat(`"a",`, 1000) + `"a"]}`
		}, 7, false},
		{"empty objects", func(int) string { return `{}` }, 2.5, true},
		{"empty domains", func(int) string {
			return `{"route_id":"r","status":"active","domains":[` + strings.Repeat(`"",`, 1000) + `""]}`
		}, 2.5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply := routeList(size, tc.entry)
			addr := hostileServer(t, func() []byte { return reply })
			h := connected(t, addr, nil)
			ctx := ctxT(t)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			routes, err := h.c.ListRoutes(ctx)
			runtime.ReadMemStats(&after)
			alloc := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(reply))
			t.Logf("%d routes from %d bytes: allocated %.1f× the reply (err %v)", len(routes), len(reply), alloc, err)
			if tc.refused != errors.Is(err, ErrProtocol) || (!tc.refused && (err != nil || len(routes) == 0)) {
				t.Fatalf("ListRoutes: %d routes, %v; refused=%v", len(routes), err, tc.refused)
			}
			if alloc > tc.ceiling {
				t.Fatalf("allocated %.1f× the reply size, want ≤ %v×", alloc, tc.ceiling)
			}
			if err := ping(ctx, h.c); err != nil {
				t.Fatalf("Ping after the list: %v", err)
			}
		})
	}
}

// The decoder takes what the server sends (PROTOCOL.md §3): escapes, null
// domains, whitespace; and refuses what it never sends.
func TestDecodeRoutes(t *testing.T) {
	got, err := decodeRoutes(` [ {"route_id":"r1","domains":["a.com", "b\u002ecom"],"path":"/x","backend":"http://b:1","priority":2,"status":"active"},` +
		`{"route_id":"r2","domains":null,"path":"","backend":"","priority":0,"status":"staged"} ] `)
	want := []RouteInfo{
		{ID: "r1", Domains: []string{"a.com", "b.com"}, Path: "/x", Backend: "http://b:1", Priority: 2, Status: "active"},
		{ID: "r2", Status: "staged"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeRoutes = %+v, %v; want %+v", got, err, want)
	}
	if got, err := decodeRoutes(`[]`); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v, %v", got, err)
	}
	for _, bad := range []string{
		``, `{}`, `[`, `[{"route_id":"r1","status":"gone"}]`, `[{"status":"active"}]`,
		`[{"route_id":"r1","status":"active","domains":[1]}]`, `[{"route_id":"r1","status":"active","domains":[""]}]`,
		`[] []`,
	} {
		if _, err := decodeRoutes(bad); !errors.Is(err, ErrProtocol) {
			t.Errorf("decodeRoutes(%q) = %v, want ErrProtocol", bad, err)
		}
	}
}
