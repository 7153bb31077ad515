package reconcile

import (
	"fmt"
	"strings"
	"testing"

	"regagent/internal/client"
)

// Maintenance on 12,000 routes made an 84 KB MAINT_ENTER, over the line
// budget (§1): refused, and retried for good. The ids are cut into lists
// that each fit, in order, none lost.
func TestTargetListsFitTheLineBudget(t *testing.T) {
	ids := make([]string, 12000)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", 100000+i)
	}
	lists := targetLists(ids, maintTargetBudget)
	if len(lists) < 2 {
		t.Fatalf("%d lists for 12,000 ids", len(lists))
	}
	var back []string
	for _, l := range lists {
		// The page URL is at most 2 KiB (config): the line still fits.
		if line := len("MAINT_ENTER|") + 512 + len(l) + 1 + 2048; len(l) > maintTargetBudget || line > client.LineBudget {
			t.Fatalf("a list of %d bytes, a line of %d", len(l), line)
		}
		back = append(back, strings.Split(l, ",")...)
	}
	if strings.Join(back, ",") != strings.Join(ids, ",") {
		t.Fatal("ids lost or reordered")
	}
	if got := targetLists([]string{"r1"}, 10); len(got) != 1 || got[0] != "r1" {
		t.Fatalf("one id: %q", got)
	}
}
