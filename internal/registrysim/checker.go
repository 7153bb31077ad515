package registrysim

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Checker decides whether a URL is reachable, the way the server's GET of a
// maintenance page or backend does (§5). A nil error means reachable.
type Checker interface {
	Check(ctx context.Context, url string) error
}

// CheckerFunc adapts a function to a Checker.
type CheckerFunc func(ctx context.Context, url string) error

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context, url string) error { return f(ctx, url) }

// alwaysReachable is the default Checker: every URL answers at once, no HTTP.
func alwaysReachable() Checker {
	return CheckerFunc(func(context.Context, string) error { return nil })
}

// HTTPChecker returns a Checker doing a real GET with the given timeout; any
// status below 500 counts as reachable (§5). Meant for the demo.
func HTTPChecker(timeout time.Duration) Checker {
	// No keep-alive: a check is rare, and idle connections would outlive Close.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	hc := &http.Client{Timeout: timeout, Transport: tr}
	return CheckerFunc(func(ctx context.Context, url string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}
