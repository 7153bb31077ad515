package client

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

var errNoPong = errors.New("no PONG in time")

// keepalive PINGs cn every KeepaliveInterval and breaks it when no reply
// arrives within KeepaliveTimeout. The server only notices a dead peer through
// TCP keepalive after 30 s or more, and a half-open connection never errors on
// our side until we write into a full buffer: the PING deadline is the only
// prompt detector (§7). Any reply counts as alive: a replaced session still
// answers PING with PONG (§2).
func (c *Client) keepalive(cn *conn) {
	t := time.NewTicker(c.opts.KeepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-cn.done:
			return
		case <-t.C:
		}
		c.ping(cn)
	}
}

// busyAllowance is how many keepalive timeouts a PING may wait behind
// earlier commands the server is still working on (a large CONFIG_APPLY
// takes seconds, §4; BACKEND_TEST up to 5 s, §6) before the connection is
// declared dead anyway: 60 s with the default 5 s timeout.
const busyAllowance = 12

// ping sends one PING and waits for its reply or the connection's end. The
// deadline runs from before the write: a write stuck on a peer that stopped
// reading counts against it too, and failing the connection unblocks it.
// While earlier commands are still unanswered the PONG cannot come (replies
// are in order), so the deadline is extended, up to busyAllowance
// timeouts: a busy connection is not a dead one.
func (c *Client) ping(cn *conn) {
	cmd := Command{Name: "PING"}
	buf, err := appendLine(nil, c.SessionID(), cmd)
	if err != nil {
		cn.fail(fmt.Errorf("keepalive: %w", err))
		return
	}
	w := &waiter{cmds: []Command{cmd}, results: make([]Result, 1), done: make(chan struct{})}
	start := time.Now()
	var mu sync.Mutex // guards deadline and over: expire re-arms the timer
	var deadline *time.Timer
	over := false // the PING was answered, or the connection ended
	var expire func()
	expire = func() {
		mu.Lock()
		defer mu.Unlock()
		if over {
			return
		}
		if cn.waitsBehind(w) && time.Since(start) < busyAllowance*c.opts.KeepaliveTimeout {
			deadline = time.AfterFunc(c.opts.KeepaliveTimeout, expire)
			return
		}
		cn.fail(fmt.Errorf("keepalive: %w", errNoPong))
	}
	mu.Lock()
	deadline = time.AfterFunc(c.opts.KeepaliveTimeout, expire)
	mu.Unlock()
	defer func() {
		mu.Lock()
		over = true
		deadline.Stop()
		mu.Unlock()
	}()
	if err := cn.send(buf, w); err != nil {
		return
	}
	select {
	case <-w.done:
		c.roundTrip(w.cmds, w, time.Since(start))
	case <-cn.done:
	}
}
