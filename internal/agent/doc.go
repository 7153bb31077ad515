// Package agent runs regagent's daemon: it loads and watches the config file
// (internal/config), hands every valid version to the reconciler
// (internal/reconcile), which drives the protocol client (internal/client),
// and reports what happens as log records, metrics and a status endpoint.
// It owns the documented event names: the client's typed events and the
// reconciler's reports become the records the README lists. On shutdown it
// leaves the proxy as the file's shutdown block says.
package agent
