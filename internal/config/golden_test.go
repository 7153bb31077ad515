package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goldenInput is one document TestErrorsGolden parses.
type goldenInput struct {
	name string
	data []byte
	opts ParseOptions
}

// goldenInputs are every fixture of testdata (the valid and invalid files,
// the position fixtures and the fuzz corpus) and the fuzz seeds.
func goldenInputs(tb testing.TB) []goldenInput {
	tb.Helper()
	fileOpts := ParseOptions{Filename: "registry.yaml", Lookup: testLookup, Hostname: "h"}
	fuzzOpts := ParseOptions{Filename: "f.yaml", Lookup: fuzzLookup, Hostname: "host"}
	var in []goldenInput
	files, _ := filepath.Glob("testdata/*/*/registry.yaml")
	positions, _ := filepath.Glob("testdata/positions/*.yaml")
	for _, f := range append(files, positions...) {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		in = append(in, goldenInput{filepath.ToSlash(f), data, fileOpts})
	}
	corpus, _ := filepath.Glob("testdata/fuzz/FuzzParse/*")
	for _, f := range corpus {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		// go test fuzz v1, then one []byte("...") line.
		_, lit, _ := strings.Cut(string(raw), "\n")
		lit = strings.TrimSpace(lit)
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lit, "[]byte("), ")"))
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		in = append(in, goldenInput{filepath.ToSlash(f), []byte(s), fuzzOpts})
	}
	for i, seed := range fuzzSeeds() {
		in = append(in, goldenInput{"fuzz seed " + strconv.Itoa(i), seed, fuzzOpts})
	}
	noHost := fileOpts
	noHost.Hostname = ""
	in = append(in, goldenInput{"minimal without a host name", []byte(minimal), noHost})
	return in
}

// TestErrorsGolden pins what Parse says about every fixture: each message,
// its position, path and cause, in order. Any drift in wording or placement
// shows here. Run with -update to rewrite testdata/errors.golden.
func TestErrorsGolden(t *testing.T) {
	var b strings.Builder
	for _, in := range goldenInputs(t) {
		fmt.Fprintf(&b, "== %s\n", in.name)
		cfg, err := Parse(bytes.NewReader(in.data), in.opts)
		if err == nil {
			fmt.Fprintf(&b, "ok: %d routes\n", len(cfg.Routes))
			continue
		}
		var es Errors
		if !errors.As(err, &es) {
			t.Fatalf("%s: error %T %v, want Errors", in.name, err, err)
		}
		for _, e := range es {
			fmt.Fprintf(&b, "%s\n\t[%v]\n", e, e.Cause)
		}
	}
	golden := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d of the golden differs:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("golden has %d lines, Parse gives %d", len(wl), len(gl))
	}
}
