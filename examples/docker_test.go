package examples_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case
	args string
}

// stage is one FROM ... section of a Dockerfile.
type stage struct {
	from  string
	name  string
	instr []instruction
}

func parseDockerfile(tb testing.TB, file string) []stage {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var stages []stage
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		text := strings.TrimSpace(lines[i])
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				next = ""
			}
			text = strings.TrimSuffix(text, `\`) + " " + next
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				tb.Fatalf("%s:%d: %s before the first FROM", file, start, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, in)
	}
	return stages
}

// shellWords splits a shell command line into words, honouring quotes and
// backslashes and expanding ${NAME} and $NAME from vars.
func shellWords(tb testing.TB, s string, vars map[string]string) []string {
	tb.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	expand := func(i int) int { // s[i] == '$'; returns the index after the reference
		rest := s[i+1:]
		var name string
		var n int
		if strings.HasPrefix(rest, "{") {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				tb.Fatalf("unterminated ${ in %q", s)
			}
			name, n = rest[1:end], end+1
		} else {
			m := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`).FindString(rest)
			if m == "" {
				w.WriteByte('$')
				return i + 1
			}
			name, n = m, len(m)
		}
		v, ok := vars[name]
		if !ok {
			tb.Fatalf("%q uses $%s, which no ARG or ENV of the stage declares (Docker would expand it to nothing)", s, name)
		}
		w.WriteString(v)
		return i + 1 + n
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			i++
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				tb.Fatalf("unterminated ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+end])
			inWord, i = true, i+end+2
		case c == '"':
			inWord = true
			i++
			for i < len(s) && s[i] != '"' {
				switch {
				case s[i] == '\\' && i+1 < len(s):
					w.WriteByte(s[i+1])
					i += 2
				case s[i] == '$':
					i = expand(i)
				default:
					w.WriteByte(s[i])
					i++
				}
			}
			if i >= len(s) {
				tb.Fatalf("unterminated \" in %q", s)
			}
			i++
		case c == '\\' && i+1 < len(s):
			w.WriteByte(s[i+1])
			inWord, i = true, i+2
		case c == '$':
			inWord = true
			i = expand(i)
		case strings.ContainsRune(";&|<>`", rune(c)):
			tb.Fatalf("the build command %q is not a single command; keep it one line the test can run", s)
		default:
			w.WriteByte(c)
			inWord, i = true, i+1
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// dockerBuild is the builder stage's `go build` command, ready to run.
type dockerBuild struct {
	line   int
	env    []string // VAR=value prefixes
	args   []string // after "go"
	output string   // the -o value
}

// builderCommand finds the `go build` RUN of the stage named name and
// expands it with the stage's ARG defaults overridden by args.
func builderCommand(tb testing.TB, st stage, argValues map[string]string) dockerBuild {
	tb.Helper()
	vars := map[string]string{}
	var found []dockerBuild
	for _, in := range st.instr {
		switch in.cmd {
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			if v, ok := argValues[name]; ok {
				def = v
			}
			vars[name] = strings.Trim(def, `"`)
		case "RUN":
			if !strings.Contains(in.args, "go build") {
				continue
			}
			text := in.args
			for strings.HasPrefix(text, "--") { // RUN --mount=... options
				_, text, _ = strings.Cut(text, " ")
				text = strings.TrimSpace(text)
			}
			words := shellWords(tb, text, vars)
			b := dockerBuild{line: in.line}
			for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
				b.env, words = append(b.env, words[0]), words[1:]
			}
			if len(words) < 2 || words[0] != "go" || words[1] != "build" {
				tb.Fatalf("Dockerfile:%d: the build command %q is not `[VAR=value...] go build ...`", in.line, in.args)
			}
			b.args = words[1:]
			for i, a := range b.args {
				if a == "-o" && i+1 < len(b.args) {
					b.output = b.args[i+1]
				}
			}
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		tb.Fatalf("the builder stage has %d `go build` commands, want exactly 1", len(found))
	}
	return found[0]
}

func dockerStages(tb testing.TB) (build, runtime stage) {
	tb.Helper()
	stages := parseDockerfile(tb, "../Dockerfile")
	if len(stages) < 2 {
		tb.Fatalf("Dockerfile has %d stages, want a builder and a runtime stage", len(stages))
	}
	return stages[0], stages[len(stages)-1]
}

// buildLikeDocker runs the Dockerfile's own build command in the module
// root, stamping a test version and commit, and returns the binary. The
// binary is built once per test run.
func buildLikeDocker(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds regagent; skipped with -short")
	}
	binary.once.Do(func() {
		build, _ := dockerStages(t)
		b := builderCommand(t, build, map[string]string{"VERSION": "9.8.7-test", "COMMIT": "c0ffee42"})
		dir, err := os.MkdirTemp("", "regagent-examples-")
		if err != nil {
			binary.err = err
			return
		}
		binary.dir = dir
		binary.path = filepath.Join(dir, "regagent")
		args := slices.Clone(b.args)
		i := slices.Index(args, "-o")
		if i < 0 {
			binary.err = fmt.Errorf("Dockerfile:%d: the build command has no -o", b.line)
			return
		}
		args[i+1] = binary.path
		cmd := exec.Command("go", args...)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("Dockerfile:%d: go %s: %v\n%s", b.line, strings.Join(args, " "), err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// TestDockerfileBuild runs the builder stage's go build and checks what the
// image relies on: a static binary (CGO_ENABLED=0, the runtime image has no
// libc), reproducible paths, and the version and commit build arguments
// stamped into `regagent version`.
func TestDockerfileBuild(t *testing.T) {
	t.Parallel()
	build, _ := dockerStages(t)
	if build.from != "golang:1.26" {
		t.Errorf("builder image is %q, want golang:1.26 (the go.mod version)", build.from)
	}
	b := builderCommand(t, build, nil)
	if !slices.Contains(b.env, "CGO_ENABLED=0") {
		t.Errorf("Dockerfile:%d: the build does not set CGO_ENABLED=0; the binary would need libc", b.line)
	}
	for _, want := range []string{"-trimpath", "./cmd/regagent"} {
		if !slices.Contains(b.args, want) {
			t.Errorf("Dockerfile:%d: the build has no %s: %q", b.line, want, b.args)
		}
	}

	bin := buildLikeDocker(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("regagent version: %v\n%s", err, out)
	}
	for _, want := range []string{"9.8.7-test", "c0ffee42"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("regagent version printed %q; want the stamped %q in it", out, want)
		}
	}
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err != nil {
		t.Fatalf("go version -m: %v", err)
	} else if !strings.Contains(string(out), "CGO_ENABLED=0") {
		t.Errorf("the binary was not built with CGO_ENABLED=0:\n%s", out)
	}
}

// TestDockerfileRuntime checks the runtime stage: a static, shell-less
// base, a non-root user, the binary the builder produced on the PATH, and
// the entry point and default command the README documents.
func TestDockerfileRuntime(t *testing.T) {
	build, rt := dockerStages(t)
	b := builderCommand(t, build, nil)

	nonRootBase := false
	switch {
	case rt.from == "scratch":
	case strings.HasPrefix(rt.from, "gcr.io/distroless/static"):
		nonRootBase = strings.HasSuffix(rt.from, ":nonroot")
	default:
		t.Errorf("runtime image is %q, want scratch or gcr.io/distroless/static*", rt.from)
	}

	var copied, user, entrypoint, command, stateDir, stateOwner string
	for _, in := range rt.instr {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 4 && f[0] == "--from="+build.name && strings.HasPrefix(f[1], "--chown=") && f[3] == "/var/lib/regagent" {
				stateDir, stateOwner = f[2], strings.TrimPrefix(f[1], "--chown=")
			}
			if len(f) == 3 && f[0] == "--from="+build.name {
				if f[1] != b.output {
					t.Errorf("Dockerfile:%d: copies %s from the builder, which writes %s", in.line, f[1], b.output)
				}
				copied = f[2]
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "CMD":
			command = in.args
		case "RUN", "SHELL", "HEALTHCHECK":
			t.Errorf("Dockerfile:%d: %s in the runtime stage needs a shell, which the image has not", in.line, in.cmd)
		}
	}
	if copied != "/usr/local/bin/regagent" {
		t.Errorf("the binary is copied to %q, want /usr/local/bin/regagent (on the base image's PATH, for ENTRYPOINT [\"regagent\"])", copied)
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" && !nonRootBase || name == "root" || name == "0" {
		t.Errorf("runtime user is %q on %s; want a non-root USER", user, rt.from)
	}
	// The kubelet refuses runAsNonRoot with a user name it cannot resolve
	// ("image has non-numeric user"): the USER must be a number.
	if name, _, _ := strings.Cut(user, ":"); name != "" {
		if _, err := strconv.Atoi(name); err != nil {
			t.Errorf("runtime USER %q is not numeric; Kubernetes runAsNonRoot cannot verify it", user)
		}
	}
	// The default state directory: the image has no shell to make it, so
	// the builder makes it and the runtime stage copies it with the
	// agent's user as owner (a named volume mounted there inherits it).
	if stateDir == "" {
		t.Errorf("the runtime stage does not create /var/lib/regagent (COPY --from=%s --chown=UID:GID DIR /var/lib/regagent); the default state file could not be written", build.name)
	} else {
		if stateOwner != user {
			t.Errorf("/var/lib/regagent is owned by %q, but the agent runs as %q", stateOwner, user)
		}
		made := false
		for _, in := range build.instr {
			made = made || in.cmd == "RUN" && slices.Equal(strings.Fields(in.args), []string{"mkdir", "-p", stateDir})
		}
		if !made {
			t.Errorf("the builder stage does not make %s (RUN mkdir -p %s), which the runtime stage copies to /var/lib/regagent", stateDir, stateDir)
		}
	}
	for _, c := range []struct{ instr, got, want string }{
		{"ENTRYPOINT", entrypoint, `["regagent"]`},
		{"CMD", command, `["run", "-c", "/etc/regagent/registry.yaml"]`},
	} {
		var got, want []string
		if err := json.Unmarshal([]byte(c.got), &got); err != nil {
			t.Errorf("%s %s is not in exec (JSON) form: %v", c.instr, c.got, err)
			continue
		}
		json.Unmarshal([]byte(c.want), &want)
		if !slices.Equal(got, want) {
			t.Errorf("%s is %q, want %q", c.instr, got, want)
		}
	}
}

// dockerignore is a .dockerignore: patterns anchored at the context root,
// "**" for any number of directories, "!" for exceptions, the last
// matching pattern deciding; a pattern that matches a directory excludes
// everything below it.
type dockerignore []struct {
	re     *regexp.Regexp
	negate bool
}

func loadDockerignore(tb testing.TB, file string) dockerignore {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var di dockerignore
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		negate := strings.HasPrefix(line, "!")
		p := path.Clean(strings.TrimPrefix(strings.TrimPrefix(line, "!"), "/"))
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch c := p[i]; {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		di = append(di, struct {
			re     *regexp.Regexp
			negate bool
		}{regexp.MustCompile(re.String()), negate})
	}
	return di
}

func (di dockerignore) excludes(name string) bool {
	excluded := false
	for _, p := range di {
		for prefix := name; prefix != "."; prefix = path.Dir(prefix) {
			if p.re.MatchString(prefix) {
				excluded = !p.negate
				break
			}
		}
	}
	return excluded
}

// TestDockerignore checks that the build context keeps every file the
// build reads (go.mod, go.sum, the Go files and embedded files of the
// module's packages that cmd/regagent imports) and leaves out the
// repository's history and the tests.
func TestDockerignore(t *testing.T) {
	di := loadDockerignore(t, "../.dockerignore")
	out, err := exec.Command("go", "list", "-C", "..", "-deps",
		"-f", `{{if and .Module .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}`, "./cmd/regagent").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, f := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		needed = append(needed, filepath.ToSlash(rel))
	}
	if !slices.Contains(needed, "schema/registry.schema.json") {
		t.Fatalf("go list found no embedded schema among %d files: %v", len(needed), needed)
	}
	for _, f := range needed {
		if di.excludes(f) {
			t.Errorf(".dockerignore excludes %s, which the build needs", f)
		}
	}
	for _, f := range []string{".git/HEAD", "internal/config/parse_test.go", "internal/config/testdata/x.yaml", "internal/config/config.test", "examples/kubernetes/shop.yaml", "examples/docker_test.go", "regagent"} {
		if !di.excludes(f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}

// TestDockerfileComments: every repository file the Dockerfile's comments
// name exists, and a test file named there is the one that runs the
// build command (the comment above it says so).
func TestDockerfileComments(t *testing.T) {
	named := regexp.MustCompile(`\b(?:README\.md|(?:examples|internal|cmd|docs|schema)/[\w./-]*\w)`)
	tests := 0
	for i, line := range strings.Split(readFile(t, "../Dockerfile"), "\n") {
		comment, ok := strings.CutPrefix(strings.TrimSpace(line), "#")
		if !ok {
			continue
		}
		for _, name := range named.FindAllString(comment, -1) {
			data, err := os.ReadFile(filepath.Join("..", name))
			if err != nil {
				t.Errorf("Dockerfile:%d: names %s: %v", i+1, name, err)
				continue
			}
			if strings.HasSuffix(name, "_test.go") {
				tests++
				if !strings.Contains(string(data), "builderCommand(t, build") {
					t.Errorf("Dockerfile:%d: names %s, which does not run the build command", i+1, name)
				}
			}
		}
	}
	if tests == 0 {
		t.Error("the Dockerfile does not say which test runs its build command")
	}
}
