package client

// pending reports how many bytes of an incomplete line are buffered: what
// the parser tests check is dropped or kept.
func (p *parser) pending() int { return p.n }
