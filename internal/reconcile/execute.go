package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"regagent/internal/client"
)

// execStats counts what one execution sent.
type execStats struct {
	Writes   int // Send calls and maintenance commands
	Commands int
}

// pending maps a staged step to the index of its result in the batch.
type pending struct {
	step Step
	idx  int
	bulk *bulkAdd
}

type bulkAdd struct {
	ref   client.BulkRef
	steps []Step
}

// executor sends one plan and follows the replies with a tracker.
type executor struct {
	conn   Conn
	report func(Report)
	t      *tracker
	stats  execStats
	batch  client.Batch
	wait   []pending
	err    error // first error from a reply
	// touched names every route the plan staged, for recovery.
	touched map[string]bool
}

// execute sends c and returns the applied state its replies prove, what it
// sent and the first error. Consecutive staging steps and applies go out as
// one write; the write is cut only where an id is needed that only a reply
// can give (a health check of a route added in the same apply, a removal of
// a purge copy), and around maintenance commands.
func execute(ctx context.Context, conn Conn, a Applied, c Changeset, report func(Report)) (Applied, execStats, error) {
	x := &executor{conn: conn, report: report, t: newTracker(a), touched: map[string]bool{}}
	err := x.run(ctx, c.Steps)
	return x.t.a, x.stats, err
}

func (x *executor) run(ctx context.Context, steps []Step) error {
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		if s.Key != "" {
			x.touched[s.Key] = true
		}
		switch s.Kind {
		case StepRouteAdd:
			j := i
			for j < len(steps) && steps[j].Kind == StepRouteAdd {
				x.touched[steps[j].Key] = true
				j++
			}
			x.stageAdds(steps[i:j])
			i = j - 1
		case StepRouteRemove, StepRouteUpdate, StepHealthSet:
			id, ok := x.t.id(s)
			if !ok {
				// The id comes with a reply not read yet.
				if err := x.flush(ctx); err != nil {
					return err
				}
				if id, ok = x.t.id(s); !ok {
					continue // its add failed; the error is recorded
				}
			}
			x.stageByID(s, id)
		case StepOptionSet:
			x.queue(s, x.batch.OptionSet(s.Name, s.Value))
		case StepHeaderSet:
			x.queue(s, x.batch.HeaderSet(s.Name, s.Value))
		case StepApply:
			x.queue(s, x.batch.Apply())
		case StepMaintEnter, StepMaintExit:
			if err := x.flush(ctx); err != nil {
				return err
			}
			if x.err != nil {
				return x.err // the routes are not as planned: no maintenance on them
			}
			if err := x.maint(ctx, s); err != nil {
				return err
			}
		}
	}
	if err := x.flush(ctx); err != nil {
		return err
	}
	return x.err
}

func (x *executor) queue(s Step, idx int) {
	x.wait = append(x.wait, pending{step: s, idx: idx})
}

func (x *executor) stageAdds(steps []Step) {
	if len(steps) == 1 {
		x.queue(steps[0], x.batch.RouteAdd(wireRoute(steps[0].Route)))
		return
	}
	rs := make([]client.Route, len(steps))
	for i, s := range steps {
		rs[i] = wireRoute(s.Route)
	}
	ref := x.batch.RouteAddBulk(rs)
	x.wait = append(x.wait, pending{bulk: &bulkAdd{ref: ref, steps: steps}})
}

func (x *executor) stageByID(s Step, id string) {
	switch s.Kind {
	case StepRouteRemove:
		x.queue(s, x.batch.RouteRemove(id))
	case StepRouteUpdate:
		x.queue(s, x.batch.RouteUpdate(id, "priority", strconv.Itoa(s.Priority)))
	case StepHealthSet:
		x.queue(s, x.batch.HealthSet(id, s.Health.Path, s.Health.Interval, s.Health.Timeout))
	}
}

func wireRoute(r RouteSpec) client.Route {
	return client.Route{Domains: r.Domains, Path: r.Path, Backend: r.Backend, Priority: r.Priority}
}

// flush sends the batch in one write and feeds the replies to the tracker
// in order, so that it mirrors the server: what was staged successfully is
// applied by the next successful CONFIG_APPLY, even after an error.
func (x *executor) flush(ctx context.Context) error {
	if x.batch.Len() == 0 {
		return nil
	}
	b, wait := x.batch, x.wait
	x.batch, x.wait = client.Batch{}, nil
	// The plan's route ids belong to this session: never send it to the next.
	b.ForSession(x.t.a.Generation)
	x.stats.Writes++
	x.stats.Commands += b.Len()
	results, sendErr := x.conn.Send(ctx, &b)
	if sendErr != nil && len(results) == 0 {
		return fmt.Errorf("cannot send plan: %w", sendErr)
	}
	for _, p := range wait {
		if p.bulk != nil {
			ids, err := p.bulk.ref.IDs(results)
			for i, s := range p.bulk.steps {
				if i < len(ids) && ids[i] != "" {
					x.t.added(s, ids[i])
				}
			}
			x.fail(err)
			continue
		}
		if p.idx >= len(results) {
			x.fail(client.ErrDisconnected)
			continue
		}
		x.reply(p.step, results[p.idx])
	}
	if sendErr != nil {
		return fmt.Errorf("cannot send plan: %w", sendErr)
	}
	return nil
}

// errApplyFailed marks a CONFIG_APPLY refused by the server: the apply may
// have been partial (§3), so the proxy and the session's list may disagree.
var errApplyFailed = errors.New("reconcile: apply failed")

func (x *executor) reply(s Step, res client.Result) {
	// Removing a route the session no longer has leaves it removed.
	if res.Err != nil && !(s.Kind == StepRouteRemove && errors.Is(res.Err, client.ErrRouteNotFound)) {
		if s.Kind == StepApply {
			x.fail(fmt.Errorf("%s: %w: %w", s, errApplyFailed, res.Err))
		} else {
			x.fail(fmt.Errorf("%s: %w", s, res.Err))
		}
		if s.Kind == StepApply {
			// §3: nothing applied, or a partial apply. The staged
			// adds may be live in the proxy without the session
			// knowing them: keep them as orphans to purge.
			for _, r := range x.t.adds {
				r.Refused = true
				x.t.a.Orphans = append(x.t.a.Orphans, r)
			}
		}
		return
	}
	switch s.Kind {
	case StepRouteAdd:
		x.t.added(s, res.Reply.Payload)
	case StepRouteRemove:
		id, _ := x.t.id(s)
		x.t.removed(s, id)
	case StepRouteUpdate:
		x.t.updated(s)
	case StepHealthSet:
		h := s.Health
		h.Path = "/" + h.Path // as in the desired state; the wire form drops the slash (§4)
		x.t.healthSet(s, &h)
	case StepOptionSet:
		x.t.optionSet(s)
	case StepHeaderSet:
		x.t.headerSet(s)
	case StepApply:
		added, removed := x.t.commit()
		for _, r := range removed {
			x.report(RouteRemoved{Name: r.Key, ID: r.ID})
		}
		for _, r := range added {
			x.report(RouteAdded{Name: r.Spec.Name, ID: r.ID})
			if r.Spec.Health != nil {
				x.report(HealthCheckSet{Name: r.Spec.Name, ID: r.ID})
			}
		}
	}
}

// maint sends a maintenance step with the route names resolved to this
// session's route ids (§5: the server accepts anything else and changes
// nothing).
func (x *executor) maint(ctx context.Context, s Step) error {
	if gen := x.conn.Generation(); gen != x.t.a.Generation {
		// The ids are the old session's; the next pass replays.
		return fmt.Errorf("cannot %s: %w", strings.ToLower(s.Kind.String()), client.ErrSessionChanged)
	}
	targets := []string{"ALL"}
	if !s.All {
		var ids []string
		for _, name := range s.Targets {
			if r, ok := x.t.a.Routes[name]; ok {
				ids = append(ids, r.ID)
			} else if id, ok := x.t.ids[name]; ok && isCopyKey(name) {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if len(s.Release) > 0 && len(ids) == 1 {
			// A comma list is confirmed without a check of the backend
			// (§5), which a released backend may well fail.
			ids = append(ids, ids[0])
		}
		targets = targetLists(ids, maintTargetBudget)
	}
	for _, target := range targets {
		x.stats.Writes++
		x.stats.Commands++
		var err error
		if s.Kind == StepMaintEnter {
			err = x.conn.MaintenanceEnter(ctx, target, s.Page)
		} else {
			err = x.conn.MaintenanceExit(ctx, target)
		}
		if err != nil {
			return fmt.Errorf("cannot %s of %s: %w", strings.ToLower(s.Kind.String()), countText(strings.Count(target, ",")+1, "route"), err)
		}
	}
	x.t.maintDone(s)
	return nil
}

// maintTargetBudget bounds the target field of one maintenance command, so
// that the line, page URL included, stays within the client's line budget
// (§1): thousands of routes in maintenance take several commands.
const maintTargetBudget = client.LineBudget / 2

// targetLists cuts ids into comma lists of at most budget bytes each.
func targetLists(ids []string, budget int) []string {
	var out []string
	var b strings.Builder
	for _, id := range ids {
		if b.Len() > 0 && b.Len()+1+len(id) > budget {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func countText(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func (x *executor) fail(err error) {
	if err != nil && x.err == nil {
		x.err = err
	}
}
