package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"regagent/internal/agent"
	"regagent/internal/status"
)

// maxStateBytes bounds the state document read from an agent. Tens of
// thousands of routes fit; something else answering on the port, without
// end, cannot fill the memory.
const maxStateBytes = 64 << 20

// stateTimeout bounds the whole request: an agent that accepts and never
// answers does not hang the command.
const stateTimeout = 10 * time.Second

// agentState is a running agent's state document, as read from its
// status endpoint.
type agentState struct {
	agent.State
	// Raw is the document as it came, with any field this regagent does
	// not know.
	Raw []byte
	// URL is where it came from.
	URL string
}

// fetchState reads the state document of the agent whose status endpoint
// is at addr (any form status.BaseURL takes). Every error says "cannot
// read agent status".
func fetchState(ctx context.Context, addr string) (*agentState, error) {
	return readState(ctx, addr, maxStateBytes)
}

// readState is fetchState with a bound of limit bytes on the document.
func readState(ctx context.Context, addr string, limit int) (*agentState, error) {
	base, err := status.BaseURL(addr)
	if err != nil {
		return nil, fmt.Errorf("cannot read agent status: %w", err)
	}
	u := base + "/v1/state"
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot read agent status: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL follows
		}
		return nil, fmt.Errorf("cannot read agent status: no agent answers at %s "+
			"(is it running, with status.address or --status-addr set to this address?): %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot read agent status: %s answered %s (an agent older than this regagent "+
			"serves no state document)", u, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read agent status: %w", err)
	}
	if len(raw) > limit {
		return nil, fmt.Errorf("cannot read agent status: %s sent more than %d bytes", u, limit)
	}
	st := &agentState{Raw: raw, URL: base}
	if err := json.Unmarshal(raw, &st.State); err != nil {
		return nil, fmt.Errorf("cannot read agent status: %s is not a state document: %w", u, err)
	}
	switch {
	case st.Version == 0:
		return nil, fmt.Errorf("cannot read agent status: %s is not a state document (no version)", u)
	case st.Version != agent.StateVersion:
		// A new version removes or changes fields: reading it as this one
		// would show wrong values.
		return nil, fmt.Errorf("cannot read agent status: %s is a state document of version %d; this regagent "+
			"reads version %d (use a regagent of the agent's release)", u, st.Version, agent.StateVersion)
	}
	if !bytes.HasSuffix(st.Raw, []byte("\n")) {
		st.Raw = append(st.Raw, '\n')
	}
	return st, nil
}
