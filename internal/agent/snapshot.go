package agent

import (
	"errors"
	"time"

	"regagent/internal/client"
	"regagent/internal/config"
	"regagent/internal/reconcile"
	"regagent/internal/redact"
)

// Snapshot is the agent's /status document.
type Snapshot struct {
	ConfigFile  string             `json:"config_file"`
	ConfigHash  string             `json:"config_hash,omitempty"` // of the config in force
	ConfigValid bool               `json:"config_valid"`
	InvalidHash string             `json:"invalid_hash,omitempty"` // of the file's current, invalid content
	Errors      []string           `json:"errors,omitempty"`
	Connection  string             `json:"connection"`
	SessionID   string             `json:"session_id,omitempty"`
	SelfIP      string             `json:"self_ip,omitempty"`
	PageServer  string             `json:"page_server,omitempty"` // the maintenance page server's address
	Ready       bool               `json:"ready"`
	NotReady    string             `json:"not_ready,omitempty"`
	Time        time.Time          `json:"time"`
	Reconciler  *reconcile.Status  `json:"reconciler,omitempty"`
	Applied     *reconcile.Applied `json:"applied,omitempty"`
}

// Snapshot implements status.Source. The document is served without
// authentication: every secret in it is masked.
func (a *Agent) Snapshot() any {
	s := a.snapshot()
	masked, _, err := redact.Copy(a.redactor(), s)
	if err != nil {
		// Nothing of the document can be shown safely.
		return Snapshot{ConfigFile: s.ConfigFile, ConfigValid: s.ConfigValid, Connection: s.Connection,
			Ready: s.Ready, NotReady: s.NotReady, Time: s.Time, Errors: []string{err.Error()}}
	}
	return masked
}

func (a *Agent) snapshot() Snapshot {
	a.mu.Lock()
	cfg, invalid, invalidHash, cl, rec, selfIP := a.cfg, a.invalid, a.invalidHash, a.cl, a.rec, a.selfIP
	a.mu.Unlock()
	s := Snapshot{ConfigFile: a.opts.ConfigPath, ConfigValid: invalid == nil, SelfIP: selfIP, Time: time.Now()}
	if invalid != nil {
		s.InvalidHash = invalidHash
	}
	if cfg != nil {
		s.ConfigHash = cfg.Hash
	}
	var errs config.Errors
	if errors.As(invalid, &errs) {
		for _, e := range errs {
			s.Errors = append(s.Errors, e.Error())
		}
	} else if invalid != nil {
		s.Errors = []string{invalid.Error()}
	}
	s.Connection = client.StateDisconnected.String()
	if cl != nil {
		s.Connection = cl.State().String()
		s.SessionID = cl.SessionID()
	}
	if rec != nil {
		st := rec.Status()
		ap := rec.Applied()
		s.Reconciler, s.Applied = &st, &ap
	}
	s.PageServer = a.PageAddr()
	s.Ready, s.NotReady = a.Ready()
	return s
}

// Ready implements status.Source: the connection is up and the config in
// force is applied. The reason is bounded and its secrets masked. An invalid edit, or a valid one the reconciler refuses
// (a mass removal), does not change readiness: the last good config stays
// applied, as it would after a typo.
func (a *Agent) Ready() (bool, string) {
	ok, why := a.ready()
	return ok, a.redactor().String(boundText(why))
}

func (a *Agent) ready() (bool, string) {
	a.mu.Lock()
	cl, rec, waiting := a.cl, a.rec, a.waiting
	a.mu.Unlock()
	if waiting != "" {
		return false, waiting
	}
	if cl == nil || rec == nil {
		return false, "starting"
	}
	if cl.State() != client.StateConnected {
		return false, "not connected to the registry"
	}
	st := rec.Status()
	if !st.InForce {
		if st.LastError != "" {
			return false, "not applied: " + st.LastError
		}
		return false, "not applied yet"
	}
	return true, ""
}

func (a *Agent) recStatus() (reconcile.Status, bool) {
	a.mu.Lock()
	rec := a.rec
	a.mu.Unlock()
	if rec == nil {
		return reconcile.Status{}, false
	}
	return rec.Status(), true
}

func (a *Agent) connected() bool {
	a.mu.Lock()
	cl := a.cl
	a.mu.Unlock()
	return cl != nil && cl.State() == client.StateConnected
}

func (a *Agent) routesApplied() int {
	s, ok := a.recStatus()
	if !ok {
		return 0
	}
	return len(s.Routes)
}

func (a *Agent) maintenanceActive() int {
	s, ok := a.recStatus()
	if !ok {
		return 0
	}
	return len(s.MaintenanceBackends)
}

func (a *Agent) configValid() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.invalid == nil
}
