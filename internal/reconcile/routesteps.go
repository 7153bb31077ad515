package reconcile

import "fmt"

// purgePrefix, releasePrefix and keepPrefix start the keys of copies:
// routes added only to be removed again, to purge an orphan (§7), to
// release a backend's maintenance (§5) or to hold it across a re-add (§9).
// No route name may use them.
const (
	purgePrefix   = "orphan#"
	releasePrefix = "release#"
	keepPrefix    = "keep#"
)

func purgeKey(i int) string { return fmt.Sprintf("%s%d", purgePrefix, i) }

func keepKey(i int) string { return fmt.Sprintf("%s%d", keepPrefix, i) }

func releaseKey(i int) string { return fmt.Sprintf("%s%d", releasePrefix, i) }

// routeSteps lays out the route commands: purge, removals, additions. A
// keeper route per backend in keep is added in the apply of the removals
// (adds run first, §4), so the backend object and its maintenance outlive
// the removed routes and pass to the routes added again; it is removed
// after them (§9).
func (rc *routeChanges) routeSteps(d Desired, a Applied, keep []string) []Step {
	// Sized once: a Step is a few hundred bytes, and growing these slices
	// step by step was most of the planning time of a large sync.
	n := len(rc.kind) + len(rc.strays) + len(rc.purge) + len(keep)
	steps := make([]Step, 0, 2*n+len(d.Options)+len(d.Headers)+6)
	// §7: add a copy of each orphan, apply, remove the copies (which
	// deletes the orphans), apply; the routes are added after.
	for i, p := range rc.purge {
		steps = append(steps, Step{Kind: StepRouteAdd, Key: purgeKey(i), Route: p})
	}
	if len(rc.purge) > 0 {
		steps = append(steps, Step{Kind: StepApply})
	}
	cmds := rc.commands(a, n)
	if len(cmds.removes) > 0 {
		for i, b := range keep {
			steps = append(steps, Step{Kind: StepRouteAdd, Key: keepKey(i),
				Route: RouteSpec{Domains: []string{keepHost(d.Service, b)}, Path: "/", Backend: b}})
		}
		steps = append(steps, cmds.removes...)
		steps = append(steps, Step{Kind: StepApply})
	} else {
		keep = nil
	}
	if len(cmds.adds) > 0 || len(cmds.updates) > 0 {
		// Every apply that adds routes, or updates one (the proxy appends
		// an updated copy, which wins the exact path), stages the full
		// option and header set first: a route gets those of its apply
		// only (§4).
		steps = append(steps, cmds.updates...)
		for _, k := range sortedKeys(d.Options) {
			steps = append(steps, Step{Kind: StepOptionSet, Name: k, Value: d.Options[k]})
		}
		for _, k := range sortedKeys(d.Headers) {
			steps = append(steps, Step{Kind: StepHeaderSet, Name: k, Value: d.Headers[k]})
		}
		steps = append(steps, cmds.adds...)
		steps = append(steps, cmds.health...)
		steps = append(steps, Step{Kind: StepApply})
	}
	for i := range keep {
		steps = append(steps, Step{Kind: StepRouteRemove, Key: keepKey(i)})
	}
	if len(keep) > 0 {
		steps = append(steps, Step{Kind: StepApply})
	}
	return steps
}

// routeCmds are the route commands of a plan by the apply they go in.
type routeCmds struct {
	removes               []Step // the first apply
	updates, adds, health []Step // the next
}

// commands turns each route's change into its commands; n bounds the
// removals.
func (rc *routeChanges) commands(a Applied, n int) routeCmds {
	c := routeCmds{removes: make([]Step, 0, n), adds: make([]Step, 0, len(rc.kind)), health: make([]Step, 0, len(rc.kind))}
	for i := range rc.purge {
		c.removes = append(c.removes, Step{Kind: StepRouteRemove, Key: purgeKey(i)})
	}
	for _, name := range sortedKeys(rc.kind) {
		w := rc.want[name]
		switch rc.kind[name] {
		case ChangeRemove:
			c.removes = append(c.removes, Step{Kind: StepRouteRemove, Key: name, ID: a.Routes[name].ID})
		case ChangeReadd:
			c.removes = append(c.removes, Step{Kind: StepRouteRemove, Key: name, ID: a.Routes[name].ID})
			c.add(name, w)
		case ChangeAdd:
			c.add(name, w)
		case ChangeUpdate:
			id := a.Routes[name].ID
			c.updates = append(c.updates, Step{Kind: StepRouteUpdate, Key: name, ID: id, Priority: w.Priority})
			// The proxy appends the updated copy with what this apply
			// stages (§4): its health check too.
			if w.Health != nil {
				hs := healthStep(name, w.Health)
				hs.ID = id
				c.health = append(c.health, hs)
			}
		}
	}
	for _, id := range rc.strays {
		c.removes = append(c.removes, Step{Kind: StepRouteRemove, ID: id})
	}
	return c
}

// add adds route name as w, with its health check.
func (c *routeCmds) add(name string, w RouteSpec) {
	c.adds = append(c.adds, Step{Kind: StepRouteAdd, Key: name, Route: w})
	if w.Health != nil {
		c.health = append(c.health, healthStep(name, w.Health))
	}
}
