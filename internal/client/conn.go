package client

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// waiter collects the replies of one write: one or many consecutive commands.
type waiter struct {
	cmds    []Command
	results []Result
	got     int
	done    chan struct{}
	// onReply, if set, runs on the reader goroutine for each reply, before
	// the next line is read (maintenance uses it to see its ACK in stream
	// order relative to MAINT_OK lines, §5).
	onReply func(i int, r Result)
}

// conn is one TCP connection with the session registered on it. Writes are
// serialized by wmu, which also fixes the order of the waiters in pending:
// the waiter is queued before its bytes are written, so a reply can never
// arrive for a command not yet queued.
type conn struct {
	nc           net.Conn
	p            parser
	writeTimeout time.Duration
	onLine       func(kind lineKind, r Reply) // async lines, on the reader goroutine
	onResult     func(cmd Command, r Result)  // every reply, on the reader goroutine

	wmu sync.Mutex

	mu      sync.Mutex
	pending []*waiter
	err     error         // why the connection broke; set once
	done    chan struct{} // closed when err is set
}

func newConn(nc net.Conn, writeTimeout time.Duration) *conn {
	return &conn{nc: nc, writeTimeout: writeTimeout, done: make(chan struct{})}
}

// send queues w and writes buf (the encoded lines of w.cmds) in one write.
func (cn *conn) send(buf []byte, w *waiter) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.mu.Lock()
	if cn.err != nil {
		err := cn.err
		cn.mu.Unlock()
		return disconnected(err)
	}
	cn.pending = append(cn.pending, w)
	cn.mu.Unlock()

	if cn.writeTimeout > 0 {
		_ = cn.nc.SetWriteDeadline(time.Now().Add(cn.writeTimeout))
	}
	if _, err := cn.nc.Write(buf); err != nil {
		// The waiter is already queued: fail hands it ErrDisconnected.
		cn.fail(err)
		return nil
	}
	if cn.writeTimeout > 0 {
		// A deadline left armed is a timer that wakes the idle process
		// writeTimeout after every write.
		_ = cn.nc.SetWriteDeadline(time.Time{})
	}
	return nil
}

// fail breaks the connection once: it records why, closes the socket (which
// ends the reader) and fails every waiter still queued.
func (cn *conn) fail(cause error) {
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return
	}
	if cause == nil {
		cause = errors.New("connection closed")
	}
	cn.err = cause
	ws := cn.pending
	cn.pending = nil
	err := disconnected(cause)
	for _, w := range ws {
		for i := w.got; i < len(w.cmds); i++ {
			w.results[i] = Result{Command: w.cmds[i], Err: err}
		}
		w.got = len(w.cmds)
	}
	close(cn.done)
	cn.mu.Unlock()
	_ = cn.nc.Close()
	for _, w := range ws {
		close(w.done)
	}
}

// cause returns why the connection broke, or nil while it is up.
func (cn *conn) cause() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.err
}

// readLoop is the connection's only reader. It returns when the connection
// breaks, after failing it.
func (cn *conn) readLoop() {
	buf := make([]byte, 32<<10)
	for {
		n, err := cn.nc.Read(buf)
		if n > 0 {
			if perr := cn.p.feed(buf[:n], cn.dispatchLine, cn.dispatchLong); perr != nil {
				cn.fail(perr)
				return
			}
		}
		if err != nil {
			cn.fail(err)
			return
		}
	}
}

// waitsBehind reports whether earlier commands are still answered before w:
// the server replies in order, so w's reply cannot come before theirs.
func (cn *conn) waitsBehind(w *waiter) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return len(cn.pending) > 0 && cn.pending[0] != w
}

// dispatchLine routes one line: async lines to onLine, replies to the oldest
// waiter (FIFO). A reply with nobody waiting means the stream is out of step;
// the connection cannot be trusted any more.
func (cn *conn) dispatchLine(line string) error {
	kind, r := classify(line)
	if kind != lineReply {
		if cn.onLine != nil {
			cn.onLine(kind, r)
		}
		return nil
	}
	return cn.deliver(r, nil)
}

// dispatchLong handles a line over the reply cap, of which the parser kept
// only the head. A reply still answers the oldest waiter, in order, with
// ErrReplyTooLong: the stream stays in step and the connection stays up (a
// reconnect would not make the reply shorter). An async line is dropped.
func (cn *conn) dispatchLong(head string) error {
	kind, r := classify(head)
	if kind != lineReply {
		return nil
	}
	r = Reply{Kind: r.Kind}
	return cn.deliver(r, fmt.Errorf("%w: %s reply over %d bytes", ErrReplyTooLong, r.Kind, maxReplyLine))
}

// deliver hands r to the oldest waiter (FIFO), with err if the reply could
// not be read.
func (cn *conn) deliver(r Reply, err error) error {
	cn.mu.Lock()
	if len(cn.pending) == 0 {
		cn.mu.Unlock()
		return protocolError("unexpected reply " + r.Kind)
	}
	w := cn.pending[0]
	i := w.got
	res := Result{Command: w.cmds[i], Reply: r, Err: err}
	if err == nil && r.Kind == "ERROR" {
		res.Err = &ServerError{Command: w.cmds[i].Name, Message: r.Payload}
	}
	w.results[i] = res
	w.got++
	complete := w.got == len(w.cmds)
	if complete {
		cn.pending[0] = nil
		cn.pending = cn.pending[1:]
	}
	cn.mu.Unlock()

	if cn.onResult != nil {
		cn.onResult(res.Command, res)
	}
	if w.onReply != nil {
		w.onReply(i, res)
	}
	if complete {
		close(w.done)
	}
	return nil
}
