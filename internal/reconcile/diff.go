package reconcile

import (
	"fmt"
	"strings"
	"time"

	"regagent/internal/redact"
)

// Diff renders a plan for humans, one change a line, for example
// "+ route web example.com/ -> http://b:3000",
// "~ route api backend http://a -> http://b (re-add)",
// "~ route api priority 1 -> 2", "- route old",
// "+ maintenance api (page http://10.0.0.5:8081/)", and warnings as
// "! maintenance target "x" matches no route". A plan that changes nothing
// renders as "no changes". The maintenance windows in force or to come
// follow, one a line starting with "@" (see windowText). URL passwords and the values of sensitive headers and
// options are masked; the caller masks the interpolated secrets it knows.
func Diff(c Changeset) string {
	var b strings.Builder
	for _, ch := range c.Changes {
		switch ch.Kind {
		case ChangeAdd:
			fmt.Fprintf(&b, "+ route %s %s%s\n", ch.Name, routeText(*ch.To), healthSuffix(ch.To))
		case ChangeRemove:
			fmt.Fprintf(&b, "- route %s\n", ch.Name)
		case ChangeReadd:
			fmt.Fprintf(&b, "~ route %s %s (re-add)\n", ch.Name, strings.Join(ch.Why, ", "))
		case ChangeUpdate:
			fmt.Fprintf(&b, "~ route %s %s\n", ch.Name, strings.Join(ch.Why, ", "))
		case ChangeStray:
			fmt.Fprintf(&b, "- stray route %s %s\n", ch.ID, routeText(*ch.From))
		case ChangePurge:
			fmt.Fprintf(&b, "- orphan %s (purge: add, apply, remove, apply, §7)\n", routeText(*ch.From))
		}
	}
	// The service-wide set staged with every add (§4): what the added
	// routes will carry.
	// Credentials are masked: the text is shown in the status document
	// and by `regagent plan`.
	var opts, hdrs []string
	red := redact.New(nil)
	for _, s := range c.Steps {
		switch s.Kind {
		case StepOptionSet:
			opts = append(opts, s.Name+"="+red.Value(s.Name, s.Value))
		case StepHeaderSet:
			hdrs = append(hdrs, s.Name+": "+red.Value(s.Name, s.Value))
		}
	}
	if len(opts) > 0 || len(hdrs) > 0 {
		opts, hdrs = sortedUniq(opts), sortedUniq(hdrs)
		fmt.Fprintf(&b, "  with options [%s] headers [%s]\n", strings.Join(opts, ", "), strings.Join(hdrs, ", "))
	}
	for _, s := range c.Steps {
		switch s.Kind {
		case StepMaintEnter:
			page := s.Page
			if page == "" {
				page = "built-in"
			}
			reason := ""
			if s.Reason != "" {
				reason = ", reason: " + s.Reason
			}
			fmt.Fprintf(&b, "+ maintenance %s (page %s%s)\n", maintText(s), page, reason)
		case StepMaintExit:
			if len(s.Release) > 0 {
				fmt.Fprintf(&b, "- maintenance of unused backend %s (released through a temporary route, §5)\n",
					strings.Join(s.Release, ", "))
				continue
			}
			fmt.Fprintf(&b, "- maintenance %s\n", maintText(s))
		}
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "! %s\n", w)
	}
	if c.Err != nil {
		fmt.Fprintf(&b, "! not applied: %v\n", c.Err)
	}
	if b.Len() == 0 {
		b.WriteString("no changes\n")
	}
	for _, w := range c.Windows {
		b.WriteString(windowText(w, c.Now))
	}
	return redact.URLPasswords(b.String())
}

// windowText is one maintenance window as Diff shows it, e.g.
// "@ maintenance window db (upcoming): api from 2030-02-01T02:00:00Z until
// 2030-02-01T03:30:00Z, reason: database upgrade".
func windowText(w WindowSpec, now time.Time) string {
	var b strings.Builder
	state := "upcoming"
	if w.Active(now) {
		state = "in force"
	}
	fmt.Fprintf(&b, "@ maintenance window %s (%s): ", w.Name, state)
	if len(w.Targets) == 0 {
		b.WriteString("every route")
	} else {
		b.WriteString(strings.Join(w.Targets, ","))
	}
	if w.From != nil {
		b.WriteString(" from " + w.From.Format(time.RFC3339))
	}
	if w.Until != nil {
		b.WriteString(" until " + w.Until.Format(time.RFC3339))
	} else {
		b.WriteString(", no end")
	}
	if w.Reason != "" {
		b.WriteString(", reason: " + w.Reason)
	}
	b.WriteByte('\n')
	return b.String()
}

func healthSuffix(r *RouteSpec) string {
	if r.Health == nil {
		return ""
	}
	return " (health " + healthText(r.Health) + ")"
}
