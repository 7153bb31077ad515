package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// The states this package sends (sd_notify(3)).
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
)

// ErrSocket is returned by New for a $NOTIFY_SOCKET it cannot send to.
var ErrSocket = errors.New("sdnotify: unsupported NOTIFY_SOCKET")

// sendTimeout bounds one send: a service manager that does not read its
// socket must not hold up the service's start or shutdown.
const sendTimeout = 2 * time.Second

// Notifier sends notifications to one socket. A nil *Notifier sends
// nothing, so a caller need not check whether it runs under systemd.
type Notifier struct {
	addr *net.UnixAddr
}

// New returns a Notifier for socket, the value of $NOTIFY_SOCKET: an
// absolute path, or "@name" for a socket in the abstract namespace. An
// empty socket (not run by systemd, or not as a Type=notify unit) gives a
// nil Notifier.
func New(socket string) (*Notifier, error) {
	if socket == "" {
		return nil, nil
	}
	// systemd also knows vsock: addresses, for a manager outside a VM;
	// that needs AF_VSOCK and is not supported here.
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return nil, fmt.Errorf("%w: %q is neither an absolute path nor @name", ErrSocket, socket)
	}
	// Go maps a leading "@" to the abstract namespace itself.
	return &Notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}, nil
}

// Notify sends state, one or more newline-separated VAR=value
// assignments, in one datagram.
func (n *Notifier) Notify(state string) error {
	if n == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("cannot notify %s: %w", n.addr.Name, err)
	}
	defer c.Close()
	if err := c.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return fmt.Errorf("cannot notify %s: %w", n.addr.Name, err)
	}
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("cannot notify %s: %w", n.addr.Name, err)
	}
	return nil
}

// Run reports a service's life until ctx ends: READY=1 the first time
// ready returns true (asked every poll, since readiness has no event to
// wait for), then STOPPING=1 as soon as ctx ends, that is when shutdown
// begins, not when it is over. It returns after STOPPING=1 is sent, or at
// the first send that fails. On a nil Notifier it returns at once.
func (n *Notifier) Run(ctx context.Context, ready func() bool, poll time.Duration) error {
	if n == nil {
		return nil
	}
	if err := n.awaitReady(ctx, ready, poll); err != nil {
		return err
	}
	<-ctx.Done()
	return n.Notify(Stopping)
}

// awaitReady sends READY=1 once ready returns true; it returns early,
// without error and without sending, when ctx ends first.
func (n *Notifier) awaitReady(ctx context.Context, ready func() bool, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for !ready() {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	return n.Notify(Ready)
}
