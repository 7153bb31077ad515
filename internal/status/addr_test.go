package status

import (
	"errors"
	"testing"
)

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:9090", "http://127.0.0.1:9090"},
		{"http://127.0.0.1:9090", "http://127.0.0.1:9090"},
		{"http://127.0.0.1:9090/", "http://127.0.0.1:9090"},
		{"https://agent.example:9443", "https://agent.example:9443"},
		{"9090", "http://127.0.0.1:9090"},
		{":9090", "http://127.0.0.1:9090"},
		{" localhost:9090 ", "http://localhost:9090"},
		{"[::1]:9090", "http://[::1]:9090"},
		{"http://[::1]:9090", "http://[::1]:9090"},
	} {
		got, err := BaseURL(tc.addr)
		if err != nil || got != tc.want {
			t.Errorf("BaseURL(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
		}
	}
	for _, addr := range []string{"", "localhost", "::1", "http://localhost", "ftp://h:1", "http://h:1/status",
		"http://h:1?x=1", "http://u:p@h:1", "h:http", "h:70000", "99999", "0", ":0", "http//127.0.0.1:9090", "a b:1"} {
		if got, err := BaseURL(addr); !errors.Is(err, ErrAddr) {
			t.Errorf("BaseURL(%q) = %q, %v; want ErrAddr", addr, got, err)
		}
	}
}
