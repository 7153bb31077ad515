package client

import (
	"errors"
	"fmt"
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
	t := time.NewTicker(c.cfg.KeepaliveInterval)
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

// ping sends one PING and waits for its reply or the connection's end. The
// deadline runs from before the write: a write stuck on a peer that stopped
// reading counts against it too, and failing the connection unblocks it.
func (c *Client) ping(cn *conn) {
	cmd := Command{Name: "PING"}
	buf, err := appendLine(nil, c.SessionID(), cmd)
	if err != nil {
		cn.fail(fmt.Errorf("keepalive: %w", err))
		return
	}
	deadline := time.AfterFunc(c.cfg.KeepaliveTimeout, func() { cn.fail(fmt.Errorf("keepalive: %w", errNoPong)) })
	defer deadline.Stop()
	w := &waiter{cmds: []Command{cmd}, results: make([]Result, 1), done: make(chan struct{})}
	start := time.Now()
	if err := cn.send(buf, w); err != nil {
		return
	}
	select {
	case <-w.done:
		c.roundTrip(w.cmds, w, time.Since(start))
	case <-cn.done:
	}
}
