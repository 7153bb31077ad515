package reconcile

import (
	"strings"
	"testing"
	"time"
)

// TestDiffMasksCredentials: the plan text is shown by `regagent plan` and in
// the status document; URL passwords and sensitive header and option values
// never appear in it.
func TestDiffMasksCredentials(t *testing.T) {
	d := Desired{
		Service: "shop",
		Routes: []RouteSpec{{Name: "web", Domains: []string{"a.example.com"}, Path: "/",
			Backend: "http://user:hunter22@b:3000"}},
		Options: map[string]string{"api_token": "tok-0123456789", "timeout": "30s"},
		Headers: map[string]string{"Authorization": "Bearer abcdefgh", "X-Plain": "visible"},
	}
	text := Diff(Plan(d, NewApplied(0), PlanOptions{Now: time.Now(), MassRemovalThreshold: 1}))
	for _, secret := range []string{"hunter22", "tok-0123456789", "Bearer abcdefgh"} {
		if strings.Contains(text, secret) {
			t.Errorf("Diff shows %q:\n%s", secret, text)
		}
	}
	for _, want := range []string{"http://user:xxxxx@b:3000", "api_token=xxxxx", "Authorization: xxxxx",
		"timeout=30s", "X-Plain: visible"} {
		if !strings.Contains(text, want) {
			t.Errorf("Diff lacks %q:\n%s", want, text)
		}
	}
}
