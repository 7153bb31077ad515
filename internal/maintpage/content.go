package maintpage

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"math"
	"mime"
	"strconv"
	"strings"
	"time"
)

// Page is what the page says, and where on the server it is.
type Page struct {
	// Path is the path of the page URL the proxy was given: its check
	// asks for exactly this path (PROTOCOL.md §5). "" means "/".
	Path string
	// Service is the service's name. Title and Message default to a
	// sentence naming it.
	Service, Title, Message string
	// Reason says why; Until when maintenance is expected to end (nil:
	// not announced); Targets what is in maintenance (route names, paths or
	// domains as the file writes them; every route when empty).
	Reason  string
	Until   *time.Time
	Targets []string
	// File is the operator's HTML file or html/template, served instead
	// of the built-in page; "" for the built-in page.
	File string
	// Windows are scheduled maintenance windows: while one is in force,
	// its reason, end and targets are shown instead of the ones above.
	Windows []Window
}

// Window is a scheduled maintenance window, in force from From (nil: it
// has begun) until Until (nil: no end).
type Window struct {
	From, Until *time.Time
	Reason      string
	Targets     []string
}

// at returns p as it reads at now: with the reason, end and targets of
// the window in force, if one is.
func (p *Page) at(now time.Time) Page {
	for _, w := range p.Windows {
		if (w.From == nil || !now.Before(*w.From)) && (w.Until == nil || now.Before(*w.Until)) {
			q := *p
			q.Reason, q.Until, q.Targets = w.Reason, w.Until, w.Targets
			return q
		}
	}
	return *p
}

// Data is what a template sees. Every field comes from the configuration,
// none from the request: a page never reflects what a visitor sent.
type Data struct {
	Service, Title, Message, Reason string
	// Until is nil when no end is announced. UntilText is it as an
	// absolute time in the zone the file wrote it in, and Remaining as
	// "in 12 minutes"; both "" without Until.
	Until                *time.Time
	UntilText, Remaining string
	Targets              []string
}

// DefaultRetryAfter is the Retry-After, in seconds, of a page without an
// announced end: what the proxy's own maintenance page says (PROTOCOL.md §5).
const DefaultRetryAfter = 300

// maxOutput bounds a rendered page: a template that loops or nests
// templates stops there instead of filling memory.
const maxOutput = 1 << 20

var errTooLarge = errors.New("maintpage: rendered page over 1 MiB")

// data is the template data of p at now.
func (p *Page) data(now time.Time) Data {
	if len(p.Windows) > 0 {
		q := p.at(now)
		p = &q
	}
	d := Data{Service: p.Service, Title: p.Title, Message: p.Message, Reason: p.Reason, Targets: p.Targets}
	if d.Title == "" {
		d.Title = "Down for maintenance"
		if p.Service != "" {
			d.Title = p.Service + " is down for maintenance"
		}
	}
	if d.Message == "" {
		d.Message = "We are working on it and will be back soon."
	}
	if p.Until != nil {
		u := *p.Until
		d.Until = &u
		d.UntilText = u.Format("Mon, 02 Jan 2006 15:04 MST")
		d.Remaining = remaining(u.Sub(now))
	}
	return d
}

// remaining words a time left: "in 12 minutes", "in about 3 hours".
func remaining(d time.Duration) string {
	switch {
	case d <= 0:
		return "any moment now"
	case d < time.Minute:
		return "in less than a minute"
	case d < 2*time.Hour:
		return plural("in ", int(math.Ceil(d.Minutes())), "minute")
	case d < 48*time.Hour:
		return plural("in about ", int(math.Round(d.Hours())), "hour")
	}
	return plural("in about ", int(math.Round(d.Hours()/24)), "day")
}

func plural(prefix string, n int, unit string) string {
	s := prefix + strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

// retryAfter is the Retry-After of a visitor's answer at now: the seconds
// until the announced end, or DefaultRetryAfter without one (or once it is
// past: maintenance outlasted it, and a client should still wait).
func retryAfter(until *time.Time, now time.Time) int {
	if until == nil || !until.After(now) {
		return DefaultRetryAfter
	}
	return int(math.Ceil(until.Sub(now).Seconds()))
}

// format is the kind of answer a request asked for.
type format int

const (
	formatText format = iota
	formatHTML
	formatJSON
)

// maxAcceptRanges bounds the media ranges of Accept read per request.
const maxAcceptRanges = 32

// negotiate picks the answer's format from the Accept header: the one of
// JSON and HTML with the higher quality, the first written on a tie, and
// plain text when neither is asked for by name (curl's */* included).
func negotiate(accept []string) format {
	best, bestQ, seen := formatText, 0.0, 0
	for _, v := range accept {
		for r := range strings.SplitSeq(v, ",") {
			if seen++; seen > maxAcceptRanges {
				return best
			}
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(r))
			if err != nil {
				continue
			}
			var f format
			switch mt {
			case "application/json":
				f = formatJSON
			case "text/html", "application/xhtml+xml":
				f = formatHTML
			default:
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil {
					continue
				}
			}
			if q > bestQ {
				best, bestQ = f, q
			}
		}
	}
	return best
}

// jsonBody is the JSON answer: a small document for API clients.
func jsonBody(d Data) []byte {
	doc := struct {
		Status    string     `json:"status"`
		Service   string     `json:"service,omitempty"`
		Title     string     `json:"title"`
		Message   string     `json:"message"`
		Reason    string     `json:"reason,omitempty"`
		Until     *time.Time `json:"until,omitempty"`
		Remaining string     `json:"remaining,omitempty"`
	}{"maintenance", d.Service, d.Title, d.Message, d.Reason, d.Until, d.Remaining}
	b, _ := json.Marshal(doc) // strings and a time: cannot fail
	return append(b, '\n')
}

// textBody is the plain-text answer.
func textBody(d Data) []byte {
	var b bytes.Buffer
	b.WriteString(d.Title + "\n\n" + d.Message + "\n")
	if d.Reason != "" {
		b.WriteString("Reason: " + d.Reason + "\n")
	}
	if d.UntilText != "" {
		b.WriteString("Expected back: " + d.UntilText + " (" + d.Remaining + ")\n")
	}
	return b.Bytes()
}

// render executes t on d into at most maxOutput bytes.
func render(t *template.Template, d Data) ([]byte, error) {
	w := &limitedBuffer{max: maxOutput}
	if err := t.Execute(w, d); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// limitedBuffer fails a write past max bytes, which stops the template.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, errTooLarge
	}
	return w.buf.Write(p)
}

// builtinCSP is the Content-Security-Policy of the built-in page: it loads
// nothing and runs nothing, its only style is inline.
const builtinCSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// builtinPage is the built-in page: the title, the message, the reason and
// the announced end, absolute and relative.
const builtinPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f5f7;color:#1f2328;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:34rem;margin:2rem;padding:2.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25}
p{margin:.5rem 0}
.muted{margin-top:1.5rem;color:#656d76;font-size:.875rem}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22}.muted{color:#8d96a0}}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{- with .Reason}}
<p><strong>Reason:</strong> {{.}}</p>
{{- end}}
{{- with .Until}}
<p>Expected back <time datetime="{{.Format "2006-01-02T15:04:05Z07:00"}}">{{$.UntilText}}</time>, {{$.Remaining}}.</p>
{{- end}}
{{- with .Service}}
<p class="muted">{{.}}</p>
{{- end}}
</main>
</body>
</html>
`

// builtinTemplate parses the built-in page; a failure is a bug of this file,
// which the tests catch.
func builtinTemplate() *template.Template {
	return template.Must(template.New("builtin").Parse(builtinPage))
}
