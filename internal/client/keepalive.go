package client

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

var errNoPong = errors.New("no PONG in time")

// busyAllowance is how many keepalive timeouts a PING may wait behind
// earlier commands the server is still working on (a large CONFIG_APPLY
// takes seconds, §4; BACKEND_TEST up to 5 s, §6) before the connection is
// declared dead anyway: 60 s with the default 5 s timeout.
const busyAllowance = 12

// keepalive PINGs cn every KeepaliveInterval and breaks it when the PING is
// not answered within KeepaliveTimeout. The server only notices a dead peer
// through TCP keepalive after 30 s or more, and a half-open connection never
// errors on our side until we write into a full buffer: the PING deadline is
// the only prompt detector (§7). Any reply counts as alive: a replaced
// session still answers PING with PONG (§2).
//
// One goroutine and one timer, in the manner of nats: at most one PING is
// out, and the loop counts the deadlines it has missed. While earlier
// commands are still unanswered its PONG cannot come (replies are in
// order), so a missed deadline is forgiven, up to busyAllowance of them: a
// busy connection is not a dead one. The deadline runs from before the
// write, which its own goroutine does: a write stuck on a peer that stopped
// reading counts against it too, and failing the connection unblocks it.
func (c *Client) keepalive(cn *conn) {
	interval, timeout := c.opts.KeepaliveInterval, c.opts.KeepaliveTimeout
	timer := time.NewTimer(interval)
	defer timer.Stop()
	var (
		writes sync.WaitGroup
		out    *waiter // the PING awaiting its PONG, nil when none is out
		sent   time.Time
		missed int // deadlines out has missed
	)
	defer writes.Wait() // after cn failed, a stuck write returns
	for {
		var answered <-chan struct{}
		if out != nil {
			answered = out.done
		}
		select {
		case <-cn.done:
			return
		case <-answered:
			c.roundTrip(out.cmds, out, time.Since(sent))
			out, missed = nil, 0
			// One period from PING to PING, however long the PONG took.
			timer.Reset(max(interval-time.Since(sent), 0))
		case <-timer.C:
			if out == nil {
				cmd := Command{Name: "PING"}
				buf, err := appendLine(nil, c.SessionID(), cmd)
				if err != nil {
					cn.fail(fmt.Errorf("keepalive: %w", err))
					return
				}
				out = &waiter{cmds: []Command{cmd}, results: make([]Result, 1), done: make(chan struct{})}
				sent = time.Now()
				timer.Reset(timeout)
				writes.Add(1)
				go func(w *waiter) {
					defer writes.Done()
					_ = cn.send(buf, w) // an error: cn has failed, and the loop sees it
				}(out)
				continue
			}
			missed++
			if missed < busyAllowance && cn.waitsBehind(out) {
				timer.Reset(timeout)
				continue
			}
			cn.fail(fmt.Errorf("keepalive: %w", errNoPong))
			return
		}
	}
}
