package agent

import (
	"slices"

	"regagent/internal/config"
	"regagent/internal/redact"
)

// redactor is what masks secrets in everything the agent shows: log
// records, the status document and /readyz.
func (a *Agent) redactor() *redact.Redactor { return a.red.Load() }

// setSecrets masks the secrets of cfg, the config now in force, and those
// of the one it replaces: lines about undoing the old state (a removed
// route, a replaced header) still show the old values.
func (a *Agent) setSecrets(cfg *config.Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	secrets := slices.Concat(a.secrets, cfg.Secrets)
	a.secrets = cfg.Secrets
	a.red.Store(redact.New(secrets))
}
