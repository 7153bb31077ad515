package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"regagent/internal/reconcile"
)

var update = flag.Bool("update", false, "rewrite testdata/state/*.json")

// stateDocFile is a file with what a route can carry: two domains, a health
// check, options, headers (one of them secret), and maintenance with a page.
const stateDocFile = `routes:
  - name: web
    domains: [shop.example.com, www.shop.example.com]
    path: /
    backend: http://${SELF_IP}:3000
    health_check: {path: /healthz, interval: 10s, timeout: 2s}
  - name: admin
    domains: [admin.example.com]
    path: /admin
    backend: http://admin:3001
    priority: 10
options:
  timeout: 30s
headers:
  X-Served-By: shop
  Authorization: "Bearer abcdefgh"
maintenance:
  enabled: true
  targets: [admin]
  page: http://pages:8081/maintenance
`

const stateDocAPI = `  - name: api
    domains: [api.example.com]
    path: /v1
    backend: http://api:3002
`

// awaitAll returns once every named event has come, in any order.
func (f *fixture) awaitAll(names ...string) {
	f.t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	timeout := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case ev := <-f.events:
			delete(want, ev.Name)
		case <-timeout:
			f.t.Fatalf("no %v event", want)
		}
	}
}

// TestStateDocument pins the /v1/state document: its version and every
// field name, and their values for a known scenario, with the values that
// change from run to run (times, hashes, the session, the temporary file)
// normalised. A change of this golden file is a change of an interface
// other programs read (README, "The state document").
func TestStateDocument(t *testing.T) {
	f := newFixture(t, header+stateDocFile)
	opts := f.options()
	opts.StatusAddr = "127.0.0.1:0"
	f.start(opts)
	// Entering maintenance is acknowledged within the pass, confirmed by
	// MAINT_OK after it: the document shows both once both came.
	f.awaitAll(EventConfigApplied, EventMaintProxyEntered)
	// MAINT_OK asks for a pass, which finds nothing to do; a route added
	// after it makes the last plan the same in every run.
	added := strings.Replace(stateDocFile, "options:", stateDocAPI+"options:", 1)
	f.write(header + added)
	f.await(EventConfigApplied)
	// An invalid edit: the config in force stays, its errors are listed.
	f.write(header + strings.Replace(added, "priority: 10", "priorty: 10", 1))
	f.await(EventConfigInvalid)

	code, body := get(t, "http://"+f.statusAddr()+"/v1/state")
	if code != http.StatusOK {
		t.Fatalf("/v1/state = %d %s", code, body)
	}
	compareGolden(t, filepath.Join("testdata", "state", "v1.json"), normaliseState(t, body, f.path))

	// The document describes exactly the applied state the reconciler
	// holds: `regagent plan` compares a file with it.
	var doc State
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	got, err := doc.AppliedState()
	if err != nil {
		t.Fatal(err)
	}
	f.agent.mu.Lock()
	rec, secrets := f.agent.rec, f.agent.redactor()
	f.agent.mu.Unlock()
	want := rec.Applied()
	if len(want.Routes["web"].Headers) == 0 {
		t.Fatalf("the applied web route has no headers: %+v", want.Routes["web"])
	}
	want.Routes["web"] = maskedHeaders(want.Routes["web"], secrets.Value)
	want.Routes["admin"] = maskedHeaders(want.Routes["admin"], secrets.Value)
	want.Routes["api"] = maskedHeaders(want.Routes["api"], secrets.Value)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AppliedState =\n%+v\nwant\n%+v", got, want)
	}
}

func maskedHeaders(r reconcile.AppliedRoute, mask func(name, value string) string) reconcile.AppliedRoute {
	h := make(map[string]string, len(r.Headers))
	for k, v := range r.Headers {
		h[k] = mask(k, v)
	}
	r.Headers = h
	return r
}

// normaliseState replaces the values that differ between runs, keeping
// their keys, and returns the document indented.
func normaliseState(t *testing.T, body, path string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("/v1/state is not JSON: %v\n%s", err, body)
	}
	set := func(m any, key, placeholder string) {
		t.Helper()
		obj, ok := m.(map[string]any)
		if !ok {
			t.Fatalf("not an object where %q should be: %v", key, m)
		}
		v, ok := obj[key]
		if !ok {
			t.Fatalf("no %q in %v", key, obj)
		}
		if v != nil && v != "" {
			obj[key] = placeholder
		}
	}
	set(doc, "time", "TIME")
	set(doc["connection"], "session_id", "SESSION")
	cfg := doc["config"].(map[string]any)
	set(cfg, "hash", "HASH")
	set(cfg, "invalid_hash", "INVALID_HASH")
	if cfg["file"] != path {
		t.Errorf("config.file = %v, want %s", cfg["file"], path)
	}
	set(cfg, "file", "FILE")
	for _, e := range cfg["errors"].([]any) {
		set(e, "file", "FILE")
		e.(map[string]any)["text"] = strings.ReplaceAll(e.(map[string]any)["text"].(string), path, "FILE")
	}
	for _, m := range doc["maintenance"].([]any) {
		set(m, "since", "TIME")
	}
	rec := doc["reconcile"]
	set(rec, "last_plan_at", "TIME")
	set(rec, "last_error_at", "TIME")
	// How many passes, commands and writes it took is the reconciler's
	// business, and keepalives add to none of them but timing may add a pass.
	for _, k := range []string{"passes", "writes", "commands"} {
		set(rec, k, "COUNT")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run with -update after checking the change):\ngot:\n%s", path, got)
	}
}

// TestStateAppliedRoundTrip: everything of the applied state plan needs
// survives the document's JSON, strays, orphans and stale maintenance
// included.
func TestStateAppliedRoundTrip(t *testing.T) {
	ap := reconcile.NewApplied(3)
	ap.MaxID, ap.PrevMaxID = 12, 9
	ap.Routes["web"] = reconcile.AppliedRoute{ID: "r11", Options: map[string]string{"timeout": "30s"},
		Headers: map[string]string{"X-A": "b"}, Spec: reconcile.RouteSpec{Name: "web",
			Domains: []string{"a.example.com", "b.example.com"}, Path: "/", Backend: "http://w:1", Priority: 5,
			Health: &reconcile.HealthSpec{Path: "/h", Interval: 1500 * time.Millisecond, Timeout: time.Second}}}
	ap.Routes["old"] = reconcile.AppliedRoute{ID: "r12", Unverified: true,
		Spec: reconcile.RouteSpec{Name: "old", Domains: []string{"o.example.com"}, Path: "/o", Backend: "http://o:1"}}
	ap.Strays["r10"] = reconcile.AppliedRoute{ID: "r10", Unverified: true,
		Spec: reconcile.RouteSpec{Domains: []string{"s.example.com"}, Path: "/", Backend: "http://s:1"}}
	ap.Orphans = []reconcile.AppliedRoute{{Unverified: true, Refused: true,
		Spec: reconcile.RouteSpec{Name: "gone", Domains: []string{"g.example.com"}, Path: "/", Backend: "http://g:1"}}}
	ap.Maintenance.All = true
	ap.Maintenance.Backends["http://w:1"] = ""
	ap.Maintenance.Stale["http://g:1"] = "http://page"

	b, err := json.Marshal(State{Version: StateVersion, Routes: stateRoutes(ap, nil), Applied: stateApplied(ap)})
	if err != nil {
		t.Fatal(err)
	}
	var doc State
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	got, err := doc.AppliedState()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ap) {
		t.Fatalf("round trip =\n%+v\nwant\n%+v", got, ap)
	}
	if _, err := (State{Version: StateVersion}).AppliedState(); !errors.Is(err, ErrNoApplied) {
		t.Fatalf("AppliedState of a document without one: %v, want ErrNoApplied", err)
	}
}

// TestStateRouteMaintenance: a route in maintenance shows the confirmation
// of the latest entered request covering its id, ALL included, and none
// when no request of this process covers it.
func TestStateRouteMaintenance(t *testing.T) {
	ap := reconcile.NewApplied(1)
	for name, id := range map[string]string{"a": "r1", "b": "r2", "c": "r3", "d": "r4"} {
		ap.Routes[name] = reconcile.AppliedRoute{ID: id, Spec: reconcile.RouteSpec{Name: name, Backend: "http://" + name}}
	}
	for _, b := range []string{"http://a", "http://b", "http://c"} {
		ap.Maintenance.Backends[b] = "http://page"
	}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	targets := stateTargets(ap, []reconcile.MaintStatus{
		{Target: "r1,r2", Entered: true, Mode: "local", Since: t0},
		{Target: "r2", Entered: true, Mode: "proxy", Since: t0.Add(time.Second)},
		{Target: "r3", Entered: false, Mode: "proxy", Since: t0.Add(2 * time.Second)},
		{Target: "ALL", Entered: false, Mode: "pending", Since: t0},
	})
	if got := targets[1].Routes; !reflect.DeepEqual(got, []string{"a", "b"}) || targets[1].Target != "r1,r2" {
		t.Fatalf("target %+v, want r1,r2 naming a and b", targets[1])
	}
	if got := targets[0].Routes; targets[0].Target != "ALL" || !reflect.DeepEqual(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("target %+v, want ALL naming every route", targets[0])
	}
	modes := map[string]any{}
	for _, r := range stateRoutes(ap, targets) {
		if r.Maintenance == nil {
			modes[r.Name] = nil
		} else {
			modes[r.Name] = r.Maintenance.Mode
		}
	}
	want := map[string]any{"a": "local", "b": "proxy", "c": "", "d": nil}
	if !reflect.DeepEqual(modes, want) {
		t.Fatalf("modes = %v, want %v", modes, want)
	}
}

// TestStateDocumented: every field of the golden document is named in the
// README's description of the document, which other programs rely on.
func TestStateDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### The state document")
	if !ok {
		t.Fatal(`README has no "### The state document"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	golden, err := os.ReadFile(filepath.Join("testdata", "state", "v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(golden, &doc); err != nil {
		t.Fatal(err)
	}
	word := func(k string) *regexp.Regexp { return regexp.MustCompile("[^a-z_]" + regexp.QuoteMeta(k) + "[^a-z_]") }
	var walk func(v any, parent string)
	walk = func(v any, parent string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				// Keys of options, headers and backends are data.
				if parent != "options" && parent != "headers" && parent != "backends" && !word(k).MatchString(section) {
					t.Errorf("the README's state document does not name %q (in %q)", k, parent)
				}
				walk(e, k)
			}
		case []any:
			for _, e := range x {
				walk(e, parent)
			}
		}
	}
	walk(doc, "")
}
