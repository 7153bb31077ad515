package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"regagent/internal/registrysim"
)

func switchBackend(i int) string { return fmt.Sprintf("http://b%d.example.internal:3000", i) }

// backendIndex parses switchBackend's result; -1 for anything else.
func backendIndex(url string) int {
	s, ok := strings.CutPrefix(url, "http://b")
	if !ok {
		return -1
	}
	s, ok = strings.CutSuffix(s, ".example.internal:3000")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// Scenario 8: a route's backend is switched 100 times while a goroutine
// resolves it in the simulated proxy as fast as it can. A backend change
// is break-before-make (§4: remove+apply, then add+apply, in one write), so
// some resolutions may find no route; they are counted and reported per
// switch. No resolution may ever reach a backend that is neither the old
// nor the new one.
func TestBackendSwitchUnderLoad(t *testing.T) {
	t.Parallel()
	const switches = 100
	rt := func(i int) []route {
		return []route{{name: "web", domains: []string{"a.example.com"}, path: "/", backend: switchBackend(i)}}
	}
	body := func(i int) string { return file{proxy: []string{"keepalive_interval: 1s"}, routes: rt(i)}.render() }
	r := startRun(t, body(0), setup{})
	r.firstApply(rt(0))

	// cur is the switch in flight: while it is k, backends k (old) and
	// k+1 (new) are allowed. A resolver that read cur before and after
	// its Resolve may accept any backend in [before, after+1].
	var cur atomic.Int64
	stop := make(chan struct{})
	type tally struct {
		total, none int
		wrong       []string
	}
	var res tally
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		paths := []string{"/", "/sub/page"}
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			lo := cur.Load()
			got := r.sim.Resolve("a.example.com", paths[n%2])
			hi := cur.Load()
			res.total++
			switch {
			case got.Kind == registrysim.TargetNone:
				res.none++
			case got.Kind != registrysim.TargetBackend:
				res.wrong = append(res.wrong, fmt.Sprintf("%v during switch %d..%d", got.Kind, lo, hi))
			default:
				if k := int64(backendIndex(got.Backend)); k < lo || k > hi+1 {
					res.wrong = append(res.wrong, fmt.Sprintf("%s during switch %d..%d", got.Backend, lo, hi))
				}
			}
		}
	}()
	for i := range switches {
		cur.Store(int64(i))
		r.write(body(i + 1))
		r.until(fmt.Sprintf("switch %d done", i+1), func() error {
			if err := servedLive(r.sim, rt(i+1)); err != nil {
				return err
			}
			return exactTable(r.sim, rt(i+1))
		})
	}
	close(stop)
	wg.Wait()
	for _, w := range res.wrong[:min(len(res.wrong), 10)] {
		t.Errorf("a resolution reached neither the old nor the new backend: %s", w)
	}
	t.Logf("e2e: backend_switch switches=%d resolutions=%d no_backend=%d no_backend_per_switch=%.2f",
		switches, res.total, res.none, float64(res.none)/switches)
}
