package registrysim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHTTPChecker(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		http.NotFound(w, r) // any status < 500 is reachable (§5)
	}))
	ck := HTTPChecker(time.Second)
	ctx := context.Background()
	if err := ck.Check(ctx, hs.URL+"/missing"); err != nil {
		t.Fatalf("404: %v, want reachable", err)
	}
	if err := ck.Check(ctx, hs.URL+"/broken"); err == nil {
		t.Fatal("502: reachable, want error")
	}
	url := hs.URL
	hs.Close()
	if err := ck.Check(ctx, url); err == nil {
		t.Fatal("closed server: reachable, want error")
	}
}
