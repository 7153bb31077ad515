package client

import (
	"errors"
	"fmt"
)

var (
	// ErrDisconnected reports a transport failure, or that no connection is up.
	ErrDisconnected = errors.New("client: disconnected")
	// ErrClosed reports use of a Client after Close.
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

// ServerError is an "ERROR|message" reply of the server to Command.
type ServerError struct {
	Command string
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("client: server refused %s: %s", e.Command, e.Message)
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
