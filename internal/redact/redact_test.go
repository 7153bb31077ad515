package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	r := New([]string{"s3cr3t-token", "s3cr3t", "ab", ""})
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"http://user:pass@host:80/p", "http://user:xxxxx@host:80/p"},
		{"http://user@host/p", "http://user@host/p"},
		{"http://host/p?u=a:b@c", "http://host/p?u=a:b@c"},
		{"http://u:p@ss@host", "http://u:xxxxx@host"},
		{`dial "http://u:pw@a", then https://v:q@b`, `dial "http://u:xxxxx@a", then https://v:xxxxx@b`},
		{"http://u:p@h1,http://v:q@h2", "http://u:xxxxx@h1,http://v:xxxxx@h2"},
		// The longer secret wins where one contains the other.
		{"bearer s3cr3t-token and s3cr3t", "bearer xxxxx and xxxxx"},
		// Values shorter than MinSecretLen are left alone.
		{"tab ab", "tab ab"},
	} {
		if got := r.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var none *Redactor
	if got := none.String("http://a:b@c"); got != "http://a:xxxxx@c" {
		t.Errorf("nil Redactor: %q", got)
	}
}

func TestSensitiveName(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": true, "proxy-authorization": true, "Cookie": true, "Set-Cookie": true,
		"X-Api-Key": true, "api_token": true, "CLIENT_SECRET": true, "db.password": true, "X-Auth-User": true,
		"X-Request-Id": false, "timeout": false, "": false, "http://auth:80": false, "Content-Type": false,
	} {
		if got := SensitiveName(name); got != want {
			t.Errorf("SensitiveName(%q) = %v, want %v", name, got, want)
		}
	}
	r := New(nil)
	if got := r.Value("Authorization", "Bearer abc"); got != Mask {
		t.Errorf("Value(Authorization) = %q", got)
	}
	if got := r.Value("Authorization", ""); got != "" {
		t.Errorf("an empty value is shown empty, got %q", got)
	}
	if got := r.Value("X-Backend", "http://u:p@h"); got != "http://u:xxxxx@h" {
		t.Errorf("Value(X-Backend) = %q", got)
	}
}

type doc struct {
	Backend  string            `json:"backend"`
	Headers  map[string]string `json:"headers"`
	Backends map[string]string `json:"backends"`
	Count    int64             `json:"count"`
	Errors   []string          `json:"errors"`
}

func TestCopy(t *testing.T) {
	r := New([]string{"tenant-42"})
	in := doc{
		Backend:  "http://u:pw@host",
		Headers:  map[string]string{"Authorization": "Bearer zzz", "X-Tenant": "tenant-42", "X-Plain": "ok"},
		Backends: map[string]string{"http://u:pw@host": "http://page"},
		Count:    1<<53 + 1, // survives as a number, not a float
		Errors:   []string{"cannot dial http://u:pw@host"},
	}
	out, changed, err := Copy(r, in)
	if err != nil || !changed {
		t.Fatalf("Copy: changed=%v err=%v", changed, err)
	}
	want := doc{
		Backend:  "http://u:xxxxx@host",
		Headers:  map[string]string{"Authorization": Mask, "X-Tenant": Mask, "X-Plain": "ok"},
		Backends: map[string]string{"http://u:xxxxx@host": "http://page"},
		Count:    1<<53 + 1,
		Errors:   []string{"cannot dial http://u:xxxxx@host"},
	}
	gb, _ := json.Marshal(out)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("Copy =\n%s\nwant\n%s", gb, wb)
	}
	if in.Headers["Authorization"] != "Bearer zzz" {
		t.Fatal("Copy changed its input")
	}
	if _, changed, _ := Copy(r, doc{Backend: "http://h"}); changed {
		t.Fatal("changed reported for a document without secrets")
	}
}

type route struct{ Backend string }

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	cur := New([]string{"old-secret"})
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), func() *Redactor { return cur }))
	log = log.With("backend", "http://a:pw1@h")
	cur = New([]string{"tok-123456"})
	log.WithGroup("g").Info("sending tok-123456",
		"err", errors.New("cannot reach http://u:pw2@h"),
		"route", route{Backend: "http://u:pw3@h"},
		"list", []string{"x tok-123456"},
		slog.Group("sub", "header", "tok-123456"),
		"n", 3)
	out := buf.String()
	for _, secret := range []string{"pw1", "pw2", "pw3", "tok-123456"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q: %s", secret, out)
		}
	}
	if strings.Count(out, Mask) != 6 || !strings.Contains(out, `"n":3`) {
		t.Errorf("log = %s, want 6 masks and n=3", out)
	}
}
