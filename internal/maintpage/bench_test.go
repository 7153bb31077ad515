package maintpage

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkVisitor measures a visitor's answer in each format: the
// handler's own cost (the HTML is rendered once a minute, then served from
// the cache), and a round trip over loopback on a keep-alive connection.
func BenchmarkVisitor(b *testing.B) {
	s := start(b, Options{}, Page{Service: "shop", Reason: "database migration", Until: until(30 * time.Minute)})
	for _, accept := range []string{"text/html", "application/json", "*/*"} {
		b.Run("handler/"+accept, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/cart", nil)
			req.Header.Set("Accept", accept)
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusServiceUnavailable {
					b.Fatalf("status %d", w.Code)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "body-bytes")
		})
	}
	b.Run("loopback/text/html", func(b *testing.B) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/cart", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		start := time.Now()
		for b.Loop() {
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	})
}
