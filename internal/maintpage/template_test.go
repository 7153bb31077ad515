package maintpage

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// templateEvents collects a Server's TemplateEvents.
func templateEvents(t *testing.T) (chan TemplateEvent, func(TemplateEvent)) {
	ch := make(chan TemplateEvent, 64)
	return ch, func(ev TemplateEvent) {
		select {
		case ch <- ev:
		default:
			t.Errorf("template event dropped: %+v", ev)
		}
	}
}

// next returns the next event, failing after a generous bound.
func next(t *testing.T, ch chan TemplateEvent) TemplateEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no template event")
		return TemplateEvent{}
	}
}

// replace writes body to path the way editors save: a new file renamed
// over it.
func replace(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func html(t *testing.T, s *Server) string {
	t.Helper()
	resp, body := get(t, s, http.MethodGet, "/x", map[string]string{"Accept": "text/html"})
	if resp.StatusCode != 503 {
		t.Fatalf("visitor got %d", resp.StatusCode)
	}
	return body
}

// TestTemplateFile: the operator's template gets the page's fields,
// escaped; a new content is in force once loaded, a broken one is reported
// and the last good one stays.
func TestTemplateFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "page.html")
	replace(t, file, `<h1>{{.Title}}</h1><p>{{.Reason}}</p><ul>{{range .Targets}}<li>{{.}}</li>{{end}}</ul>`+
		`{{with .Until}}<p>{{$.UntilText}} ({{$.Remaining}})</p>{{end}}`)
	events, onTemplate := templateEvents(t)
	page := Page{Service: "shop", Reason: "<b>migration</b>", Targets: []string{"api", "/live"},
		Until: until(30 * time.Minute), File: file}
	s := start(t, Options{OnTemplate: onTemplate, Debounce: 5 * time.Millisecond}, page)
	if ev := next(t, events); ev.Err != nil || ev.File != file || len(ev.Hash) != 64 {
		t.Fatalf("first load: %+v", ev)
	}
	want := "<h1>shop is down for maintenance</h1><p>&lt;b&gt;migration&lt;/b&gt;</p><ul><li>api</li><li>/live</li></ul>" +
		"<p>Tue, 01 Dec 2026 10:30 UTC (in 30 minutes)</p>"
	if got := html(t, s); got != want {
		t.Fatalf("page:\n%s\nwant:\n%s", got, want)
	}
	resp, _ := get(t, s, http.MethodGet, "/", map[string]string{"Accept": "text/html"})
	if resp.Header.Get("Content-Security-Policy") != "" {
		t.Error("the operator's page got the built-in page's CSP")
	}

	// Saved by rename: read once the directory is quiet.
	replace(t, file, `<p>v2 {{.Service}}</p>`)
	if ev := next(t, events); ev.Err != nil {
		t.Fatalf("reload: %+v", ev)
	}
	if got := html(t, s); got != "<p>v2 shop</p>" {
		t.Fatalf("after the save: %q", got)
	}

	// Broken: reported, v2 stays.
	replace(t, file, `<p>{{.Nope}}</p>`)
	if ev := next(t, events); ev.Err == nil || !strings.Contains(ev.Err.Error(), "cannot render maintenance page") {
		t.Fatalf("broken template: %+v", ev)
	}
	if got := html(t, s); got != "<p>v2 shop</p>" {
		t.Fatalf("after a broken save: %q", got)
	}
	replace(t, file, `<p>v3 {{</p>`)
	if ev := next(t, events); ev.Err == nil || !strings.Contains(ev.Err.Error(), "cannot parse maintenance page") {
		t.Fatalf("unparsable template: %+v", ev)
	}

	// Fixed: in force again. The page's data changes without a new file.
	replace(t, file, `<p>v4 {{.Reason}}</p>`)
	if ev := next(t, events); ev.Err != nil {
		t.Fatalf("fixed: %+v", ev)
	}
	page.Reason = "index rebuild"
	s.Update(page)
	if got := html(t, s); got != "<p>v4 index rebuild</p>" {
		t.Fatalf("after Update: %q", got)
	}

	// Back to the built-in page.
	page.File = ""
	s.Update(page)
	if got := html(t, s); !strings.Contains(got, "<h1>shop is down for maintenance</h1>") {
		t.Fatalf("built-in page after the file was dropped:\n%s", got)
	}
}

// TestTemplateRefused: what cannot be a template is reported and the
// built-in page is served; nothing blocks on a FIFO, nothing grows without
// bound.
func TestTemplateRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.html")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.html")
	if err := os.WriteFile(big, make([]byte, MaxTemplateSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each level repeats the one below 32 times: 1 KiB × 32 × 32 × 32.
	huge := filepath.Join(dir, "huge.html")
	rep := func(name string) string { return strings.Repeat(`{{template "`+name+`"}}`, 32) }
	if err := os.WriteFile(huge, []byte(`{{define "a"}}`+strings.Repeat("x", 1024)+`{{end}}{{define "b"}}`+rep("a")+
		`{{end}}{{define "c"}}`+rep("b")+`{{end}}`+rep("c")), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.html")
	if err := os.WriteFile(empty, []byte(" \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	untilUnguarded := filepath.Join(dir, "until.html")
	if err := os.WriteFile(untilUnguarded, []byte(`{{.Until.Format "15:04"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, file, want string }{
		{"missing", filepath.Join(dir, "none.html"), "no such file"},
		{"empty", empty, "is empty"},
		{"directory", dir, "not a regular file"},
		{"fifo", fifo, "not a regular file"},
		{"too big", big, "the limit is 1048576"},
		{"renders too much", huge, errTooLarge.Error()},
		{"fails without until", untilUnguarded, "cannot render maintenance page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, onTemplate := templateEvents(t)
			s := start(t, Options{OnTemplate: onTemplate}, Page{Service: "shop", File: tc.file})
			ev := next(t, events)
			if ev.Err == nil || !strings.Contains(ev.Err.Error(), tc.want) {
				t.Fatalf("event %+v, want an error with %q", ev, tc.want)
			}
			if got := html(t, s); !strings.Contains(got, "<h1>shop is down for maintenance</h1>") {
				t.Fatalf("not the built-in page:\n%s", got)
			}
		})
	}
}
