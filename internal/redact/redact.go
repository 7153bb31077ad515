package redact

import (
	"cmp"
	"slices"
	"strings"
)

// Mask replaces a secret. It is net/url's mask for URL passwords, so every
// masked value reads the same.
const Mask = "xxxxx"

// MinSecretLen is the shortest interpolated value that is masked. Shorter
// values ("1", "on", "80") are common words and numbers: replacing every
// occurrence would garble the output (ports, counts, route names) while
// hiding nothing a guess could not find.
const MinSecretLen = 4

// Redactor masks secrets in text. The zero value and nil mask URL passwords
// only. A Redactor is immutable and safe for concurrent use.
type Redactor struct {
	rep *strings.Replacer // nil without secrets
}

// New returns a Redactor masking secrets (values shorter than MinSecretLen
// are ignored) in addition to URL passwords.
func New(secrets []string) *Redactor {
	var keep []string
	for _, s := range secrets {
		if len(s) >= MinSecretLen {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return &Redactor{}
	}
	// Longest first: the Replacer tries its patterns in order at each
	// position, and a secret containing another must be masked whole.
	slices.SortFunc(keep, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	keep = slices.Compact(keep)
	pairs := make([]string, 0, 2*len(keep))
	for _, s := range keep {
		pairs = append(pairs, s, Mask)
	}
	return &Redactor{rep: strings.NewReplacer(pairs...)}
}

// String returns s with URL passwords and secrets masked.
func (r *Redactor) String(s string) string {
	s = URLPasswords(s)
	if r != nil && r.rep != nil {
		s = r.rep.Replace(s)
	}
	return s
}

// Value returns the value of the header or option name as it may be shown:
// masked whole when the name looks sensitive, else as String does.
func (r *Redactor) Value(name, value string) string {
	if value != "" && SensitiveName(name) {
		return Mask
	}
	return r.String(value)
}

// sensitiveParts are the name fragments that mark a credential.
var sensitiveParts = [...]string{"auth", "token", "secret", "key", "password", "passwd", "cookie", "credential"}

// SensitiveName reports whether a header or option name looks like it holds
// a credential: Authorization, Proxy-Authorization, Cookie, Set-Cookie, or a
// name containing token, secret, key, password or auth (case-insensitive).
// Only names made of letters, digits, '-', '_' and '.' qualify: a URL or a
// sentence used as a map key is not a name.
func SensitiveName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	lower := strings.ToLower(name)
	for _, p := range sensitiveParts {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// URLPasswords masks the password of every URL in s ("scheme://user:pass@host"
// becomes "scheme://user:xxxxx@host"), wherever the URL sits in the text.
// A user name alone is kept, as URL.Redacted keeps it.
func URLPasswords(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		start := i + len("://")
		// The authority ends where the path, query or fragment starts, or
		// where the text around the URL resumes.
		end := start + strings.IndexFunc(rest[start:], func(c rune) bool {
			return strings.ContainsRune("/?#\"'<>`", c) || c == ' ' || c == '\t' || c == '\n' || c == '\r'
		})
		if end < start {
			end = len(rest)
		}
		// A list of URLs without spaces: the next one starts a new
		// authority ("http://a:p@h1,http://b:q@h2").
		if next := strings.Index(rest[start:], "://"); next >= 0 && start+next < end {
			end = start + next
		}
		auth := rest[start:end]
		at := strings.LastIndexByte(auth, '@')
		colon := -1
		if at > 0 {
			colon = strings.IndexByte(auth[:at], ':')
		}
		if colon < 0 {
			b.WriteString(rest[:end])
			rest = rest[end:]
			continue
		}
		b.WriteString(rest[:start+colon+1])
		b.WriteString(Mask)
		b.WriteString(rest[start+at : end])
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}
