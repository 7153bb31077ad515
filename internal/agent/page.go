package agent

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"time"

	"regagent/internal/config"
	"regagent/internal/maintpage"
)

// PageServing reports the maintenance page server listening: the address
// it bound and the page URL registered for it.
type PageServing struct{ Address, URL string }

// PageStopped reports the page server stopped because the file turned it
// off or moved it to another address.
type PageStopped struct{ Address string }

// PageServeFailed reports a page server that could not listen after an
// edit; the proxy's check of the page will fail until it can.
type PageServeFailed struct {
	Address string
	Err     error
}

// syncPage starts, updates, moves or stops the maintenance page server as
// cfg says. It runs at start, before the first registration, so that the
// proxy's first check of the page finds it (PROTOCOL.md §5), and on every
// valid content of the file, before the reconciler sees it. Only the
// goroutine that delivers configs calls it (and Run, before and after
// that goroutine): the server itself is guarded by a.mu only for readers.
func (a *Agent) syncPage(cfg *config.Config) error {
	a.mu.Lock()
	srv, addr, selfIP := a.page, a.pageAddr, a.selfIP
	a.mu.Unlock()
	want := cfg.Maintenance.Serve.Enabled
	if srv != nil && (!want || cfg.PageServerAddress() != addr) {
		a.setPage(nil, "")
		a.closePage(srv)
		a.report(PageStopped{Address: srv.Addr()})
		srv = nil
	}
	if !want {
		return nil
	}
	page := a.pageOf(cfg, selfIP)
	if srv != nil {
		srv.Update(page)
		return nil
	}
	srv, err := maintpage.Listen(maintpage.Options{
		Addr:         cfg.PageServerAddress(),
		Logger:       a.log,
		OnTemplate:   func(ev maintpage.TemplateEvent) { a.report(ev) },
		Debounce:     cfg.Reload.Debounce.D(),
		PollInterval: cfg.Reload.PollInterval.D(),
	}, page)
	if err != nil {
		return err
	}
	a.setPage(srv, cfg.PageServerAddress())
	a.report(PageServing{Address: srv.Addr(), URL: cfg.MaintenancePage(selfIP)})
	return nil
}

// pageOf is what the page says for cfg: the service, the reason, end and
// targets of the maintenance block and of each scheduled window (the page
// shows those of the window in force), and the serve block's texts and file
// (relative to the config file's directory); and where the proxy asks for
// it, the path of the registered page URL.
func (a *Agent) pageOf(cfg *config.Config, selfIP string) maintpage.Page {
	m := cfg.Maintenance
	p := maintpage.Page{
		Service: cfg.Service.Name,
		Title:   m.Serve.Title,
		Message: m.Serve.Message,
		Reason:  m.Reason,
		Until:   m.Until,
		Targets: slices.Clone(m.Targets),
		File:    m.Serve.File,
	}
	for _, w := range cfg.Maintenance.Windows {
		p.Windows = append(p.Windows, maintpage.Window{From: w.From, Until: w.Until, Reason: w.Reason,
			Targets: slices.Clone(w.Targets)})
	}
	if m.Enabled && (m.From != nil || len(p.Windows) > 0) {
		// The block is a window of its own (it may start later): the
		// page shows it only while it is in force.
		p.Windows = append(p.Windows, maintpage.Window{From: m.From, Until: m.Until, Reason: m.Reason,
			Targets: slices.Clone(m.Targets)})
	}
	if p.File != "" && !filepath.IsAbs(p.File) {
		p.File = filepath.Join(filepath.Dir(a.opts.ConfigPath), p.File)
	}
	if u, err := url.Parse(cfg.MaintenancePage(selfIP)); err == nil {
		p.Path = u.Path
	}
	return p
}

func (a *Agent) setPage(srv *maintpage.Server, addr string) {
	a.mu.Lock()
	a.page, a.pageAddr = srv, addr
	a.mu.Unlock()
}

// closePage stops srv, giving requests in flight a moment.
func (a *Agent) closePage(srv *maintpage.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		a.log.Warn("cannot close the maintenance page server cleanly", "err", err)
	}
}

// stopPage stops the page server when the agent has finished: after the
// shutdown, so that the page stays while the routes are drained.
func (a *Agent) stopPage() {
	a.mu.Lock()
	srv := a.page
	a.mu.Unlock()
	if srv != nil {
		a.setPage(nil, "")
		a.closePage(srv)
	}
}

// PageAddr is the maintenance page server's bound address, "" when it is
// not serving.
func (a *Agent) PageAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.page == nil {
		return ""
	}
	return a.page.Addr()
}
