package config

import (
	"fmt"
	"strings"
)

// varError is an interpolation problem at byte offset off of the scalar.
type varError struct {
	off   int
	cause error
	msg   string
}

// interpolate expands variables in one scalar value:
//
//	${NAME}           the value of NAME; an error if NAME is unset
//	${NAME:-default}  the value of NAME, or default if NAME is unset or empty
//	$$                a literal $
//
// NAME is [A-Za-z_][A-Za-z0-9_]*. A default runs to the first "}" and is
// not itself expanded. A "$" followed by anything else is kept as is.
// lookup may be nil (no variable is set). The result may grow by at most
// limit bytes over s: variables can hold anything, and the decoder's byte
// budget must hold before the bytes are copied, not after.
func interpolate(s string, lookup func(string) (string, bool), limit int) (string, *varError) {
	i := strings.IndexByte(s, '$')
	if i < 0 {
		return s, nil
	}
	s0 := s
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "$$"):
			b.WriteByte('$')
			s = rest[2:]
		case strings.HasPrefix(rest, "${"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", &varError{off: len(s0) - len(rest), cause: ErrInvalid, msg: fmt.Sprintf("unterminated variable reference %s (want ${NAME} or ${NAME:-default})", quote(rest))}
			}
			expr := rest[2:end]
			name, def, hasDef := strings.Cut(expr, ":-")
			if !validVarName(name) {
				return "", &varError{off: len(s0) - len(rest), cause: ErrInvalid, msg: fmt.Sprintf("invalid variable reference %s (want ${NAME} or ${NAME:-default}; write $$ for a literal $)", quote(rest[:end+1]))}
			}
			v, ok := "", false
			if lookup != nil {
				v, ok = lookup(name)
			}
			switch {
			case hasDef && v == "":
				v = def
			case !ok:
				return "", &varError{off: len(s0) - len(rest), cause: ErrUnsetVar, msg: fmt.Sprintf("variable %s is not set (give it a default with ${%s:-value})", name, name)}
			}
			if b.Len()+len(v)+len(rest)-end-1 > len(s0)+limit {
				return "", &varError{off: len(s0) - len(rest), cause: ErrTooLong, msg: fmt.Sprintf("variable %s makes the value too long (%d bytes)", name, len(v))}
			}
			b.WriteString(v)
			s = rest[end+1:]
		default:
			b.WriteByte('$')
			s = rest[1:]
		}
		i = strings.IndexByte(s, '$')
	}
	b.WriteString(s)
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
