package maintpage

import (
	"net/http"
	"strconv"
)

// ServeHTTP answers every request with the page. Nothing of the request
// but its method, the presence of X-Forwarded-For and Forwarded, its path
// and Accept is read, and nothing of it is written back: a hostile path or
// Host cannot reach the page. No path leads to a file: there is no
// file system behind the server, only the one page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	visitor := isVisitor(r, st.page.Path)
	if !visitor && r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := s.opts.Now()
	d := st.page.data(now)
	h := w.Header()
	var body []byte
	switch negotiate(r.Header.Values("Accept")) {
	case formatJSON:
		body = jsonBody(d)
		h.Set("Content-Type", "application/json")
	case formatHTML:
		var builtin bool
		body, builtin = s.html(st, d)
		h.Set("Content-Type", "text/html; charset=utf-8")
		if builtin {
			h.Set("Content-Security-Policy", builtinCSP)
		}
	default:
		body = textBody(d)
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	code := http.StatusOK
	if visitor {
		// Search engines and API clients must not take the page for the
		// content, and should come back when maintenance is announced to
		// end. The proxy puts its own "Retry-After: 300" first; this one
		// follows it (PROTOCOL.md §5).
		h.Set("Retry-After", strconv.Itoa(retryAfter(d.Until, now)))
		code = http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// isVisitor tells a visitor's request, which the proxy forwards, from the
// proxy's reachability check, which must get a status below 500 or the
// page is never put in force (PROTOCOL.md §5). The check is a plain GET of
// the exact page URL, with no X-Forwarded-* header; a visitor's request
// comes with X-Forwarded-For added and the visitor's path appended to the
// page URL's path. So a request is a visitor's when it carries
// X-Forwarded-For (or Forwarded, from a proxy in between), or asks for a
// path other than the page's; anything else (the check, or a person asking
// for the page URL itself) is answered 200.
func isVisitor(r *http.Request, pagePath string) bool {
	_, xff := r.Header["X-Forwarded-For"]
	_, fwd := r.Header["Forwarded"]
	return xff || fwd || r.URL.Path != pagePath
}

// html is the page rendered for d, from the state's cache while the text
// of Remaining stays the same, and whether it is the built-in page. A
// template that fails on this data gives the built-in page.
func (s *Server) html(st *state, d Data) ([]byte, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	key := d.Reason + "\x00" + d.UntilText + "\x00" + d.Remaining
	if st.cached != nil && st.cacheKey == key {
		return st.cached, st.builtin
	}
	b, err := render(st.tmpl, d)
	if err != nil {
		s.log.Warn("cannot render the maintenance page; serving the built-in one", "err", err)
		st.tmpl, st.builtin = s.builtin, true
		if b, err = render(st.tmpl, d); err != nil {
			b = textBody(d) // the built-in page does not fail; this is a safety net
		}
	}
	st.cached, st.cacheKey = b, key
	return b, st.builtin
}
