package examples_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCommands: the README's two commands stay the ones that work.
// CI runs exactly its test command, and the Go version it asks for is the
// one go.mod needs.
func TestReadmeCommands(t *testing.T) {
	readme := readFile(t, "../README.md")
	start := strings.Index(readme, "## The two commands")
	if start < 0 {
		t.Fatal("README.md has no section \"The two commands\"")
	}
	block := readme[start:]
	block = block[strings.Index(block, "```sh\n")+len("```sh\n"):]
	block = block[:strings.Index(block, "```")]
	commands := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(block), "\n") {
		cmd, comment, _ := strings.Cut(l, "#")
		commands[strings.TrimSpace(comment)] = strings.TrimSpace(cmd)
	}
	if got := commands["the tests"]; !strings.Contains(readFile(t, "../.ci/run"), "\n"+got+"\n") {
		t.Errorf(".ci/run does not run the README's test command %q", got)
	}
	var demo string
	for comment, cmd := range commands {
		if strings.HasPrefix(comment, "the main job") {
			demo = cmd
		}
	}
	if demo != "go run ./cmd/regagent demo" {
		t.Errorf("the README's main command is %q", demo)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, "../go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if !strings.Contains(readme[start:], "Go "+m[1]+" or later") {
		t.Errorf("the README does not say Go %s or later is needed", m[1])
	}
}
