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
//
// Memory: an incomplete line is kept in blocks of at most blockMax bytes
// (never one buffer regrown and copied at every Read) and joined once, into
// the string handed on; a line over the limit is not kept at all: its head is
// remembered, the rest is dropped as it arrives, and the line is reported as
// too long when its end comes, so the stream stays in step.
type parser struct {
	parts [][]byte // the current, incomplete line
	n     int      // bytes in parts
	max   int      // longest line accepted; 0 = maxReplyLine
	skip  bool     // inside a line over max, dropped up to its LF
	head  string   // the first bytes of that line
}

// headLen is how much of an over-long line is kept: enough to read its kind.
const headLen = 64

// blockMin and blockMax bound the blocks an incomplete line is kept in: small
// for the common reply split across two Reads, growing with the line.
const (
	blockMin = 512
	blockMax = 64 << 10
)

// feed consumes data and calls fn once for every complete line, in order, with
// the line ending ("\n", "\r\n", any CRs before the LF) removed, and long
// with the first headLen bytes of every line over the limit. Empty lines are
// skipped (§1). feed stops at the first error a callback returns.
func (p *parser) feed(data []byte, fn func(line string) error, long func(head string) error) error {
	limit := p.max
	if limit <= 0 {
		limit = maxReplyLine
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if p.skip {
			if i < 0 {
				return nil
			}
			head := p.head
			p.skip, p.head = false, ""
			data = data[i+1:]
			if err := long(head); err != nil {
				return err
			}
			continue
		}
		if i < 0 {
			// One byte of slack: a CR just before the LF is not counted.
			if p.n+len(data) > limit+1 {
				p.startSkip(data)
				return nil
			}
			p.keep(data)
			return nil
		}
		seg := data[:i]
		data = data[i+1:]
		var line string
		if p.n == 0 {
			seg = bytes.TrimRight(seg, "\r")
			if len(seg) > limit {
				p.startSkip(seg)
				p.skip = false
				if err := long(p.takeHead()); err != nil {
					return err
				}
				continue
			}
			line = string(seg)
		} else {
			if p.n+len(seg) > limit+1 {
				p.startSkip(seg)
				p.skip = false
				if err := long(p.takeHead()); err != nil {
					return err
				}
				continue
			}
			line = strings.TrimRight(p.join(seg), "\r")
			if len(line) > limit {
				p.head = line[:min(len(line), headLen)]
				if err := long(p.takeHead()); err != nil {
					return err
				}
				continue
			}
		}
		if len(line) > 0 {
			if err := fn(line); err != nil {
				return err
			}
		}
	}
	return nil
}

// keep appends data to the incomplete line.
func (p *parser) keep(data []byte) {
	p.n += len(data)
	for len(data) > 0 {
		k := len(p.parts)
		if k == 0 || len(p.parts[k-1]) == cap(p.parts[k-1]) {
			size := min(max(p.n-len(data), blockMin), blockMax)
			p.parts = append(p.parts, make([]byte, 0, size))
			k++
		}
		last := p.parts[k-1]
		m := min(cap(last)-len(last), len(data))
		p.parts[k-1] = append(last, data[:m]...)
		data = data[m:]
	}
}

// join returns the kept line followed by seg, as one string built in place,
// and forgets the kept line.
func (p *parser) join(seg []byte) string {
	var b strings.Builder
	b.Grow(p.n + len(seg))
	for _, part := range p.parts {
		b.Write(part)
	}
	b.Write(seg)
	p.parts, p.n = nil, 0
	return b.String()
}

// startSkip enters the over-long line: it remembers its head (from the kept
// bytes, then data) and drops everything kept.
func (p *parser) startSkip(data []byte) {
	var h []byte
	for _, part := range p.parts {
		h = append(h, part[:min(len(part), headLen-len(h))]...)
	}
	h = append(h, data[:min(len(data), headLen-len(h))]...)
	p.head = string(h)
	p.parts, p.n, p.skip = nil, 0, true
}

func (p *parser) takeHead() string {
	h := p.head
	p.head = ""
	return h
}

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
// taken whole from there); Fields the '|'-separated fields after Kind, nil
// when Payload is over LineBudget.
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
		// Only JSON replies are longer than a command line may be; split,
		// a hostile one would cost 16 bytes per '|' it holds.
		if len(payload) <= LineBudget {
			r.Fields = strings.Split(payload, "|")
		}
	}
	return r
}
