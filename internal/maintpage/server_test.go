package maintpage

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a fixed time for the page's "in N minutes" and Retry-After.
var clock = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return clock }

// start serves page on 127.0.0.1:0 until the test ends.
func start(t testing.TB, opts Options, page Page) *Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	s, err := Listen(opts, page)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

// get sends one request to the server and returns the response with its
// body read. header holds extra header fields; "Host" sets the Host.
func get(t *testing.T, s *Server, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
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

func until(d time.Duration) *time.Time {
	u := clock.Add(d)
	return &u
}

// TestCheckAndVisitor: the proxy's check (a plain GET of the page URL)
// gets 200, a visitor it forwards (X-Forwarded-For, or the visitor's path
// after the page's) gets 503 with Retry-After (PROTOCOL.md §5).
func TestCheckAndVisitor(t *testing.T) {
	for _, tc := range []struct {
		name, pagePath, path string
		header               map[string]string
		want                 int
	}{
		{"check", "", "/", nil, 200},
		{"visitor at the root", "", "/", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 503},
		{"visitor through another proxy", "", "/", map[string]string{"Forwarded": "for=203.0.113.9"}, 503},
		{"visitor's path", "", "/cart", nil, 503},
		{"visitor's path appended as is", "", "//cart", nil, 503},
		{"check of a page path", "/down", "/down", nil, 200},
		{"visitor under a page path", "/down", "/down/cart", nil, 503},
		{"visitor at a page path", "/down", "/down", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 503},
		{"another path than the page's", "/down", "/", nil, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{}, Page{Path: tc.pagePath, Service: "shop", Until: until(10 * time.Minute)})
			resp, _ := get(t, s, http.MethodGet, tc.path, tc.header)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			ra := resp.Header.Values("Retry-After")
			switch {
			case tc.want == 503 && (len(ra) != 1 || ra[0] != "600"):
				t.Fatalf("Retry-After %q, want [600]", ra)
			case tc.want == 200 && len(ra) != 0:
				t.Fatalf("the check got Retry-After %q", ra)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q", cc)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		until *time.Time
		want  int
	}{
		{nil, DefaultRetryAfter},
		{until(10 * time.Minute), 600},
		{until(1500 * time.Millisecond), 2},
		{until(-time.Minute), DefaultRetryAfter},
		{until(0), DefaultRetryAfter},
	} {
		if got := retryAfter(tc.until, clock); got != tc.want {
			t.Errorf("retryAfter(%v) = %d, want %d", tc.until, got, tc.want)
		}
	}
}

func TestRemaining(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "any moment now"},
		{30 * time.Second, "in less than a minute"},
		{time.Minute, "in 1 minute"},
		{61 * time.Second, "in 2 minutes"},
		{119 * time.Minute, "in 119 minutes"},
		{3 * time.Hour, "in about 3 hours"},
		{47 * time.Hour, "in about 47 hours"},
		{72 * time.Hour, "in about 3 days"},
	} {
		if got := remaining(tc.d); got != tc.want {
			t.Errorf("remaining(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		accept []string
		want   format
	}{
		{nil, formatText},
		{[]string{"*/*"}, formatText},
		{[]string{"text/*"}, formatText},
		{[]string{"text/plain"}, formatText},
		{[]string{"application/json"}, formatJSON},
		{[]string{"Application/JSON; charset=utf-8"}, formatJSON},
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, formatHTML},
		{[]string{"application/json;q=0.5, text/html"}, formatHTML},
		{[]string{"text/html;q=0.4", "application/json;q=0.9"}, formatJSON},
		{[]string{"application/json, text/html"}, formatJSON},
		{[]string{"application/json;q=0"}, formatText},
		{[]string{"application/json;q=oops"}, formatText},
		{[]string{"garbage;;;, text/html"}, formatHTML},
		{[]string{strings.Repeat("x/y,", maxAcceptRanges) + "application/json"}, formatText},
	} {
		if got := negotiate(tc.accept); got != tc.want {
			t.Errorf("negotiate(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// TestFormats: the built-in page in HTML, JSON and text says the service,
// the reason and the end, absolute and relative; the configuration's own
// text is escaped in HTML.
func TestFormats(t *testing.T) {
	s := start(t, Options{}, Page{Service: "shop", Reason: "database <migration> & co",
		Until: until(10 * time.Minute), Targets: []string{"api"}})
	visitor := map[string]string{"X-Forwarded-For": "203.0.113.9"}

	visitor["Accept"] = "text/html"
	resp, body := get(t, s, http.MethodGet, "/", visitor)
	for _, want := range []string{"<title>shop is down for maintenance</title>", "database &lt;migration&gt; &amp; co",
		`<time datetime="2026-12-01T10:10:00Z">Tue, 01 Dec 2026 10:10 UTC</time>, in 10 minutes.`, `<p class="muted">shop</p>`} {
		if !strings.Contains(body, want) {
			t.Errorf("HTML lacks %q:\n%s", want, body)
		}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("HTML Content-Type %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != builtinCSP {
		t.Errorf("CSP %q", csp)
	}

	visitor["Accept"] = "application/json"
	resp, body = get(t, s, http.MethodGet, "/", visitor)
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("JSON %q: %v", body, err)
	}
	want := map[string]any{"status": "maintenance", "service": "shop", "title": "shop is down for maintenance",
		"message": "We are working on it and will be back soon.", "reason": "database <migration> & co",
		"until": "2026-12-01T10:10:00Z", "remaining": "in 10 minutes"}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("JSON %s = %v, want %v", k, doc[k], v)
		}
	}
	if len(doc) != len(want) || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("JSON document %v, Content-Type %q", doc, resp.Header.Get("Content-Type"))
	}

	visitor["Accept"] = "*/*"
	resp, body = get(t, s, http.MethodGet, "/", visitor)
	wantText := "shop is down for maintenance\n\nWe are working on it and will be back soon.\n" +
		"Reason: database <migration> & co\nExpected back: Tue, 01 Dec 2026 10:10 UTC (in 10 minutes)\n"
	if body != wantText || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("text %q (%s), want %q", body, resp.Header.Get("Content-Type"), wantText)
	}

	// Without an end, no end is shown; title and message as configured.
	s.Update(Page{Service: "shop", Title: "Upgrading", Message: "Back after lunch."})
	_, body = get(t, s, http.MethodGet, "/", map[string]string{"Accept": "text/html"})
	if !strings.Contains(body, "<h1>Upgrading</h1>\n<p>Back after lunch.</p>") || strings.Contains(body, "Expected back") {
		t.Errorf("HTML without until:\n%s", body)
	}
}

// TestNothingOfTheRequestIsReflected: a hostile path, query and Host appear
// in no answer, whatever the format.
func TestNothingOfTheRequestIsReflected(t *testing.T) {
	s := start(t, Options{}, Page{Service: "shop", Reason: "r", Until: until(time.Hour)})
	const mark = "xss-mark"
	for _, accept := range []string{"text/html", "application/json", "text/plain"} {
		resp, body := get(t, s, http.MethodGet, "/%3Cscript%3E"+mark+"%3C/script%3E?q=%22%3E%3Cimg%20src=x%3E"+mark,
			map[string]string{"Accept": accept, "Host": "evil'()" + mark + ".example", "X-Forwarded-For": "203.0.113.9"})
		if resp.StatusCode != 503 || strings.Contains(body, mark) || strings.Contains(body, "<script") {
			t.Errorf("%s: %d, body reflects the request:\n%s", accept, resp.StatusCode, body)
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				if strings.Contains(v, mark) {
					t.Errorf("%s: header %s reflects the request: %q", accept, k, v)
				}
			}
		}
	}
}

// TestMethods: the check and direct requests may only GET or HEAD; a
// visitor's other method still learns of the maintenance (a 405 would tell
// an API client never to retry).
func TestMethods(t *testing.T) {
	s := start(t, Options{}, Page{Service: "shop"})
	resp, _ := get(t, s, http.MethodPost, "/", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("direct POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp, _ = get(t, s, http.MethodPost, "/api/orders", map[string]string{"X-Forwarded-For": "203.0.113.9"})
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "300" {
		t.Fatalf("visitor's POST: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, body := get(t, s, http.MethodHead, "/", nil)
	if resp.StatusCode != 200 || body != "" || resp.ContentLength <= 0 {
		t.Fatalf("HEAD: %d, %d bytes, Content-Length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
}

func TestListenFails(t *testing.T) {
	s := start(t, Options{}, Page{})
	_, err := Listen(Options{Addr: s.Addr()}, Page{})
	if err == nil || !strings.Contains(err.Error(), "cannot serve the maintenance page") {
		t.Fatalf("Listen on a bound address: %v", err)
	}
}

// With scheduled windows the page tells the one in force at the time of
// the request: its reason, and its end in Retry-After; the block's own
// texts only when none is.
func TestWindowInForce(t *testing.T) {
	var offset atomic.Int64
	s := start(t, Options{Now: func() time.Time { return clock.Add(time.Duration(offset.Load())) }}, Page{Service: "shop", Reason: "block", Windows: []Window{
		{From: until(-time.Hour), Until: until(10 * time.Minute), Reason: "db upgrade"},
		{From: until(time.Hour), Until: until(2 * time.Hour), Reason: "os patch"},
	}})
	visitor := map[string]string{"X-Forwarded-For": "203.0.113.9", "Accept": "text/plain"}
	for _, tc := range []struct {
		at     time.Duration
		reason string
		retry  string
	}{
		{0, "db upgrade", "600"},
		{90 * time.Minute, "os patch", "1800"},
		{30 * time.Minute, "block", "300"},
	} {
		offset.Store(int64(tc.at))
		resp, body := get(t, s, http.MethodGet, "/", visitor)
		if !strings.Contains(body, "Reason: "+tc.reason+"\n") || resp.Header.Get("Retry-After") != tc.retry {
			t.Errorf("at +%v: Retry-After %q, body:\n%s", tc.at, resp.Header.Get("Retry-After"), body)
		}
	}
}
