package client

import (
	"errors"
	"fmt"
	"testing"
)

// TestServerErrorSentinels: the server's known ERROR texts (PROTOCOL.md §2,
// §3) match their sentinel through any wrapping, and nothing else does.
func TestServerErrorSentinels(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want error // nil: none of the sentinels
	}{
		{"session not found", ErrSessionNotFound},
		{"route not found", ErrRouteNotFound},
		{"path cannot be empty", ErrInvalidConfig},
		{"invalid backend url format", ErrInvalidConfig},
		{"invalid backend url", ErrInvalidConfig},
		{"invalid json", ErrInvalidConfig},
		{"invalid format", ErrInvalidConfig},
		{"route r24: path cannot be empty", ErrInvalidConfig},
		{"failed to add route r7: invalid backend URL: parse \"http://[::1\": missing ']' in host", ErrInvalidConfig},
		{"no session", nil},
		{"unknown field", nil},
		{"unknown command: ping", nil},
		{"no drain in progress", nil},
		{"route-specific headers not yet supported", nil},
		{"timeout waiting for backend to become reachable", nil},
	} {
		err := fmt.Errorf("cannot apply: %w", &ServerError{Command: "CONFIG_APPLY", Message: tc.msg})
		for _, s := range []error{ErrSessionNotFound, ErrRouteNotFound, ErrInvalidConfig} {
			if got, want := errors.Is(err, s), s == tc.want; got != want {
				t.Errorf("errors.Is(%q, %v) = %v, want %v", tc.msg, s, got, want)
			}
		}
	}
	if errors.Is(ErrDisconnected, ErrRouteNotFound) {
		t.Error("a transport error matched ErrRouteNotFound")
	}
}
