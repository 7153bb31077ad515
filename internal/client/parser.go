package client

import (
	"bytes"
	"strings"
)

// maxReplyLine bounds one line received from the server. The server limits
// what it reads (§1), not what it writes: a ROUTE_LIST_OK of thousands of
// routes is legitimately large, so this is only a guard against a runaway peer.
const maxReplyLine = 16 << 20

// parser splits a byte stream into protocol lines (§1). It does no I/O: the
// reader goroutine feeds it whatever a Read returned, split wherever the
// network split it.
type parser struct {
	buf []byte // bytes of the current, incomplete line
	max int    // longest line accepted; 0 = maxReplyLine
}

// feed consumes data and calls fn once for every complete line, in order, with
// the line ending ("\n", "\r\n", any CRs before the LF) removed. Empty lines
// are skipped (§1). The slice passed to fn is only valid during the call. feed
// stops at the first error fn returns, or reports errLongReply when a line
// exceeds the limit.
func (p *parser) feed(data []byte, fn func(line []byte) error) error {
	max := p.max
	if max <= 0 {
		max = maxReplyLine
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if len(p.buf)+len(data) > max {
				p.buf = p.buf[:0]
				return errLongReply
			}
			p.buf = append(p.buf, data...)
			return nil
		}
		line := data[:i]
		if len(p.buf) > 0 {
			if len(p.buf)+len(line) > max {
				p.buf = p.buf[:0]
				return errLongReply
			}
			p.buf = append(p.buf, line...)
			line = p.buf
		}
		data = data[i+1:]
		line = bytes.TrimRight(line, "\r")
		if len(line) > max {
			p.buf = p.buf[:0]
			return errLongReply
		}
		var err error
		if len(line) > 0 {
			err = fn(line)
		}
		p.buf = p.buf[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// pending reports how many bytes of an incomplete line are buffered.
func (p *parser) pending() int { return len(p.buf) }

var errLongReply = protocolError("reply line too long")

func protocolError(msg string) error { return &protoErr{msg} }

type protoErr struct{ msg string }

func (e *protoErr) Error() string        { return ErrProtocol.Error() + ": " + e.msg }
func (e *protoErr) Is(target error) bool { return target == ErrProtocol }

// lineKind says where a received line goes.
type lineKind int

const (
	lineReply        lineKind = iota // the answer to the oldest waiting command
	lineMaintOK                      // async MAINT_OK|target (§5)
	lineMaintTimeout                 // async "ERROR|timeout waiting for ..." with no target (§5)
	lineEvent                        // async EVENT|type|json (§6)
	lineShutdown                     // async SHUTDOWN from the server (§6)
)

func (k lineKind) String() string {
	switch k {
	case lineReply:
		return "reply"
	case lineMaintOK:
		return "maint_ok"
	case lineMaintTimeout:
		return "maint_timeout"
	case lineEvent:
		return "event"
	case lineShutdown:
		return "shutdown"
	}
	return "unknown"
}

// asyncTimeoutPrefix starts the only ERROR lines that are not replies: a
// maintenance check giving up ~60 s after its ACK (§5). Every other ERROR line
// answers a command.
const asyncTimeoutPrefix = "ERROR|timeout waiting for "

// classify decides where line goes and splits it into a Reply. Kind is the
// text before the first '|'; Payload everything after it (JSON payloads are
// taken whole from there); Fields the '|'-separated fields after Kind.
func classify(line string) (lineKind, Reply) {
	r := splitReply(line)
	switch {
	case r.Kind == "MAINT_OK":
		return lineMaintOK, r
	case strings.HasPrefix(line, asyncTimeoutPrefix):
		return lineMaintTimeout, r
	case r.Kind == "EVENT":
		return lineEvent, r
	case line == "SHUTDOWN":
		return lineShutdown, r
	}
	return lineReply, r
}

func splitReply(line string) Reply {
	kind, payload, ok := strings.Cut(line, "|")
	r := Reply{Kind: kind}
	if ok {
		r.Payload = payload
		r.Fields = strings.Split(payload, "|")
	}
	return r
}
