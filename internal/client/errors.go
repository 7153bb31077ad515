package client

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrDisconnected reports a transport failure, or that no connection is up.
	ErrDisconnected = errors.New("client: disconnected")
	// ErrClosed reports use of a Client after Deregister or after Run ended.
	ErrClosed = errors.New("client: closed")
	// ErrUnsafeField reports a value containing '|', CR or LF (§1), or a
	// domain containing ','; nothing was written.
	ErrUnsafeField = errors.New("client: unsafe field")
	// ErrLineTooLong reports a command line over LineBudget; nothing was written.
	ErrLineTooLong = errors.New("client: line too long")
	// ErrProtocol reports a reply the client cannot make sense of.
	ErrProtocol = errors.New("client: protocol error")
	// ErrReplyTooLong reports a reply line over the reply cap; it was
	// skipped, and the connection stays up.
	ErrReplyTooLong = errors.New("client: reply too long")
	// ErrSessionChanged reports a batch bound to a session (Batch.ForSession)
	// that is no longer the client's; nothing was written.
	ErrSessionChanged = errors.New("client: session changed")
	// ErrSessionReplaced reports that the server answered "session not
	// found" on a live connection: another client registered the same
	// service and instance (§2).
	ErrSessionReplaced = errors.New("client: session replaced")
)

// What the server's known ERROR replies mean; errors.Is matches them on a
// *ServerError (or an error wrapping one) by the reply's text.
var (
	// ErrSessionNotFound is "session not found": every command but PING on
	// a connection whose session another REGISTER of the same service and
	// instance replaced (PROTOCOL.md §2).
	ErrSessionNotFound = errors.New("client: session not found")
	// ErrRouteNotFound is "route not found": ROUTE_UPDATE or ROUTE_REMOVE
	// of an id the session does not have (§3).
	ErrRouteNotFound = errors.New("client: route not found")
	// ErrInvalidConfig is a refusal of the configuration itself, which
	// sending it again cannot change (§3): a route the server cannot stage
	// ("path cannot be empty", "invalid backend url format", "invalid
	// json", "invalid format"), and CONFIG_VALIDATE's or CONFIG_APPLY's
	// "route rN: reason" (nothing applied) or "failed to add route rN: ..."
	// (a partial apply: the routes before rN are live).
	ErrInvalidConfig = errors.New("client: configuration refused")
)

// ServerError is an "ERROR|message" reply of the server to Command.
type ServerError struct {
	Command string
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("client: server refused %s: %s", e.Command, e.Message)
}

// Is maps the reply's text to ErrSessionNotFound, ErrRouteNotFound and
// ErrInvalidConfig.
func (e *ServerError) Is(target error) bool {
	switch target {
	case ErrSessionNotFound:
		return e.Message == "session not found"
	case ErrRouteNotFound:
		return e.Message == "route not found"
	case ErrInvalidConfig:
		m := e.Message
		return strings.HasPrefix(m, "route r") || strings.HasPrefix(m, "failed to add route") ||
			strings.Contains(m, "path cannot be empty") || strings.Contains(m, "invalid backend url") ||
			m == "invalid json" || m == "invalid format"
	}
	return false
}

// disconnected wraps cause so that errors.Is(err, ErrDisconnected) holds.
func disconnected(cause error) error {
	switch {
	case cause == nil:
		return ErrDisconnected
	case errors.Is(cause, ErrDisconnected):
		return cause
	}
	return fmt.Errorf("%w: %v", ErrDisconnected, cause)
}
