package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// freePort returns a port nothing listens on at the moment: for the page
// server, whose port the file names, and for an application that is down.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// pageHeader is header with a maintenance port.
func pageHeader(port int) string {
	return strings.Replace(header, "  instance: i1\n", "  instance: i1\n  maintenance_port: "+strconv.Itoa(port)+"\n", 1)
}

// newFront starts a test-only stand-in for the proxy's side of a route in
// maintenance, as PROTOCOL.md §5 describes it: the visitor's request is
// reverse-proxied to the page URL with the request path appended to the
// page URL's path, the visitor's Host kept and X-Forwarded-For added; the
// answer has X-Maintenance-Mode: true and Retry-After: 300 first, then the
// page's headers, and the page's status and body as they are. The route is
// found as the proxy finds it, by Host and path (registrysim.Resolve), or,
// when routeHost is set, by that host: a Host no config can hold still
// reaches the page that way.
func newFront(t *testing.T, sim *registrysim.Server, routeHost string) string {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := routeHost
		if host == "" {
			host = r.Host
		}
		target := sim.Resolve(host, r.URL.Path)
		if target.Kind != registrysim.TargetMaintenance || target.Page == "" {
			http.Error(w, "front: route not in maintenance with a page", http.StatusBadGateway)
			return
		}
		u, err := url.Parse(target.Page)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		u.Path, u.RawPath, u.RawQuery = strings.TrimSuffix(u.Path, "/")+r.URL.Path, "", r.URL.RawQuery
		out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Host = r.Host
		out.Header = r.Header.Clone()
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		out.Header.Add("X-Forwarded-For", ip)
		resp, err := tr.RoundTrip(out)
		if err != nil {
			http.Error(w, "front: the proxy's built-in maintenance page", http.StatusServiceUnavailable)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("X-Maintenance-Mode", "true")
		w.Header().Set("Retry-After", "300")
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(func() {
		front.Close()
		tr.CloseIdleConnections()
	})
	return front.URL
}

// visit sends a visitor's GET of path on host to the front.
func visit(t *testing.T, front, host, path, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, front+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Accept", accept)
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestAgentServesThePageWhileTheAppIsDown: with maintenance.serve, the page
// is served before the first registration, so that the registry's real
// HTTP check of it succeeds at its first try although nothing listens on
// the application's port, and maintenance is confirmed by the proxy.
// Visitors get 503 with Retry-After, the page in the format they ask for,
// and nothing of what they sent.
func TestAgentServesThePageWhileTheAppIsDown(t *testing.T) {
	checks := make(chan error, 64)
	real := registrysim.HTTPChecker(5 * time.Second)
	checker := registrysim.CheckerFunc(func(ctx context.Context, u string) error {
		err := real.Check(ctx, u)
		select {
		case checks <- err:
		default:
		}
		return err
	})
	port, app := freePort(t), freePort(t)
	pageURL := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	until := time.Now().Add(30 * time.Minute).UTC().Truncate(time.Second)
	routes := "routes:\n" + routeYAML("web", "a.example.com", "/", "http://127.0.0.1:"+strconv.Itoa(app))
	maint := "maintenance:\n  enabled: true\n  reason: database <migration>\n  until: " + until.Format(time.RFC3339) + "\n"
	f := newFixtureWith(t, registrysim.Options{Checker: checker}, pageHeader(port)+routes+maint+"  serve: true\n")
	f.ip.Store("127.0.0.1")
	f.start(f.options())

	ev := f.await2(EventMaintPageServing, EventMaintRequested)
	if d, _ := ev.Detail.(PageServing); ev.Name != EventMaintPageServing || d.URL != pageURL {
		t.Fatalf("first of the two: %s %+v, want %s with page_url %s", ev.Name, ev.Detail, EventMaintPageServing, pageURL)
	}
	f.await(EventMaintProxyEntered)
	if err := <-checks; err != nil {
		t.Fatalf("the registry's first check of the page failed: %v", err)
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(app)); err == nil {
		c.Close()
		t.Fatal("something listens on the application's port")
	}
	if got := f.agent.snapshot().PageServer; !strings.HasSuffix(got, ":"+strconv.Itoa(port)) {
		t.Errorf("/status page_server = %q", got)
	}
	if got := f.sim.Resolve("a.example.com", "/x"); got.Kind != registrysim.TargetMaintenance || got.Page != pageURL {
		t.Fatalf("Resolve = %v %q, want maintenance with page %s", got.Kind, got.Page, pageURL)
	}

	front := newFront(t, f.sim, "")
	wantHeaders := func(t *testing.T, resp *http.Response, contentType string) {
		t.Helper()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("X-Maintenance-Mode") != "true" {
			t.Fatalf("status %d, X-Maintenance-Mode %q", resp.StatusCode, resp.Header.Get("X-Maintenance-Mode"))
		}
		ra := resp.Header.Values("Retry-After")
		if len(ra) != 2 || ra[0] != "300" {
			t.Fatalf("Retry-After %q, want the proxy's 300, then the page's", ra)
		}
		if n, err := strconv.Atoi(ra[1]); err != nil || n <= 0 || n > 1800 {
			t.Fatalf("the page's Retry-After %q, want the seconds until %s", ra[1], until)
		}
		if ct := resp.Header.Get("Content-Type"); ct != contentType {
			t.Fatalf("Content-Type %q, want %q", ct, contentType)
		}
	}
	t.Run("html", func(t *testing.T) {
		resp, body := visit(t, front, "a.example.com", "/", "text/html,application/xhtml+xml,*/*;q=0.8")
		wantHeaders(t, resp, "text/html; charset=utf-8")
		for _, want := range []string{"<h1>shop is down for maintenance</h1>", "database &lt;migration&gt;",
			until.Format("Mon, 02 Jan 2006 15:04 MST"), " minutes."} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q:\n%s", want, body)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		resp, body := visit(t, front, "a.example.com", "/api/orders", "application/json")
		wantHeaders(t, resp, "application/json")
		var doc struct{ Status, Service, Reason, Until string }
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if doc.Status != "maintenance" || doc.Service != "shop" || doc.Reason != "database <migration>" || doc.Until != until.Format(time.RFC3339) {
			t.Fatalf("JSON %+v", doc)
		}
	})
	t.Run("text", func(t *testing.T) {
		resp, body := visit(t, front, "a.example.com", "/x", "*/*")
		wantHeaders(t, resp, "text/plain; charset=utf-8")
		if !strings.HasPrefix(body, "shop is down for maintenance\n") || !strings.Contains(body, "Reason: database <migration>\n") {
			t.Fatalf("text %q", body)
		}
	})
	t.Run("hostile path and Host", func(t *testing.T) {
		hostile := newFront(t, f.sim, "a.example.com")
		for _, accept := range []string{"text/html", "application/json", "text/plain"} {
			resp, body := visit(t, hostile, "x'();alert(1);.example", "/<script>alert(1)</script>?q="+url.QueryEscape(`"><img src=x onerror=alert(1)>`), accept)
			if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "alert") || strings.Contains(body, "<script") {
				t.Errorf("%s: %d, the page reflects the request:\n%s", accept, resp.StatusCode, body)
			}
		}
	})

	// Off in the file: the server stops; on again: it serves again.
	f.write(pageHeader(port) + routes + maint + "  serve: false\n")
	f.await(EventMaintPageStopped)
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		c.Close()
		t.Fatal("the page port still answers after serve: false")
	}
	f.write(pageHeader(port) + routes + maint + "  serve: true\n")
	f.await(EventMaintPageServing)
	if resp, _ := visit(t, front, "a.example.com", "/", "text/plain"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after serve: true again, a visitor gets %d", resp.StatusCode)
	}
}

// TestAgentPageTemplateHotReload: the operator's template, beside the file,
// is read again when it changes; the page URL stays, so maintenance is not
// entered again.
func TestAgentPageTemplateHotReload(t *testing.T) {
	port := freePort(t)
	routes := "routes:\n" + routeYAML("web", "a.example.com", "/", "http://web:3000")
	maint := "maintenance:\n  enabled: true\n  targets: [web]\n  reason: upgrade\n  serve:\n    file: page.html\n"
	f := newFixture(t, pageHeader(port)+routes+maint)
	f.ip.Store("127.0.0.1")
	page := filepath.Join(f.dir, "page.html")
	writePage := func(body string) {
		t.Helper()
		if err := os.WriteFile(page+".tmp", []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(page+".tmp", page); err != nil {
			t.Fatal(err)
		}
	}
	writePage(`<p>v1 {{.Service}}: {{.Reason}}</p>`)
	f.start(f.options())
	f.await(EventMaintPageLoaded)
	f.await(EventMaintProxyEntered)
	front := newFront(t, f.sim, "")
	if _, body := visit(t, front, "a.example.com", "/", "text/html"); body != "<p>v1 shop: upgrade</p>" {
		t.Fatalf("page %q", body)
	}
	enters := func() int {
		n := 0
		for _, c := range f.sim.Commands() {
			if strings.HasPrefix(c, "MAINT_ENTER|") {
				n++
			}
		}
		return n
	}
	before := enters()

	writePage(`<p>v2 {{.Service}}: {{.Reason}}</p>`)
	ev := f.await2(EventMaintPageLoaded, EventMaintPageInvalid)
	if ev.Name != EventMaintPageLoaded {
		t.Fatalf("%s: %v", ev.Name, ev.Err)
	}
	if _, body := visit(t, front, "a.example.com", "/", "text/html"); body != "<p>v2 shop: upgrade</p>" {
		t.Fatalf("page after the edit %q", body)
	}
	// A pass after the edit: had the template's reload gone through the
	// reconciler, its MAINT_ENTER would be among these commands.
	f.write(pageHeader(port) + routes + routeYAML("other", "b.example.com", "/", "http://other:3000") + maint)
	f.await(EventConfigApplied)
	if got := enters(); got != before {
		t.Fatalf("MAINT_ENTER sent %d times after the template changed, want none: %q", got-before,
			slices.DeleteFunc(f.sim.Commands(), func(c string) bool { return !strings.HasPrefix(c, "MAINT_") }))
	}
	if _, body := visit(t, front, "a.example.com", "/", "text/html"); body != "<p>v2 shop: upgrade</p>" {
		t.Fatalf("page after the config edit %q", body)
	}
}

// TestAgentRefusesToStartWithoutItsPage: a page port that is taken (by the
// application, say, as before maintenance.serve) stops the agent before it
// registers anything.
func TestAgentRefusesToStartWithoutItsPage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	f := newFixture(t, pageHeader(port)+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://web:3000")+
		"maintenance:\n  serve:\n    listen: 127.0.0.1:"+strconv.Itoa(port)+"\n")
	f.start(f.options())
	select {
	case err := <-f.done:
		f.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "cannot serve the maintenance page") {
			t.Fatalf("Run = %v", err)
		}
		var op *net.OpError
		if !errors.As(err, &op) {
			t.Fatalf("Run = %v, want the listen error wrapped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running")
	}
	if n := f.sim.CommandCount(); n != 0 {
		t.Fatalf("%d commands sent: %q", n, f.sim.Commands())
	}
}
