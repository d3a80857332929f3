package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rule lists the module packages that one package may import. pkg and the
// entries of imports are paths relative to the module root; a trailing "/..."
// matches that path and every package below it. testImports are packages
// only the package's test files may import, besides imports.
type rule struct {
	pkg         string
	imports     []string
	testImports []string
}

// rules is the module's dependency graph: edge → fanout →
// codec, ingest → codec, stream used by ingest and fanout and importing
// neither, auth (tokens) used by ingest and edge, policy (the hooks that
// refuse or change a comment, and their state) used by ingest, which runs
// them, rdb (the one Redis client, its key scheme and its errors) used by
// stream, policy and presence and importing none of them, presence and web
// standing alone, internal/proxyproto (the PROXY protocol parser) used by
// edge and ingest, metric (lock-free counters, no metrics library) used by
// the core packages, admin (Prometheus, probes, pprof) reading their
// counters for cmd alone, cmd wiring everything, and nothing importing cmd
// or perf, a module of its own nested in this one (perf/go.mod) whose
// packages are checked here too. Every package of the two modules must
// match a rule, so a new package is added here deliberately. A rule for a
// package that does not exist yet checks nothing.
//
// The rules hold for test files too, which may also import the package they
// test (external _test packages do) and the testHelpers.
var rules = []rule{
	{pkg: "codec"},
	{pkg: "rdb"},
	// stream starts a child span for each Redis round trip of a traced
	// post.
	{pkg: "stream", imports: []string{"codec", "metric", "rdb", "internal/telemetry"}},
	{pkg: "presence", imports: []string{"rdb"}},
	{pkg: "web"},
	{pkg: "auth"},
	{pkg: "metric"},
	{pkg: "policy", imports: []string{"codec", "stream", "auth", "rdb"}},
	// ingest's tests make a policy.Redis, which takes an rdb.Client.
	{pkg: "ingest", imports: []string{"codec", "stream", "auth", "policy", "metric", "internal/listen", "internal/proxyproto", "internal/telemetry"}, testImports: []string{"rdb"}},
	{pkg: "fanout", imports: []string{"codec", "stream", "metric", "internal/telemetry"}},
	// The edge knows nothing of storage nor of tracing; its tests build a
	// hub on the embedded stream, traced in the hub's tracing tests.
	{pkg: "edge", imports: []string{"fanout", "codec", "auth", "metric", "internal/listen", "internal/proxyproto"}, testImports: []string{"stream", "internal/telemetry"}},
	{pkg: "admin", imports: []string{"metric", "stream", "fanout", "edge", "ingest"}},
	// cmd/danmu's tests build the PROXY headers they send straight to the
	// nodes with the parser's encoder.
	{pkg: "cmd/danmu", imports: []string{"codec", "rdb", "stream", "presence", "web", "auth", "policy", "ingest", "fanout", "edge", "metric", "admin", "internal/telemetry"}, testImports: []string{"internal/proxyproto"}},
	// perf/floor's append floor talks to Redis with danmu's own client.
	{pkg: "perf/...", imports: []string{"codec", "rdb", "stream", "presence", "ingest", "fanout", "edge", "perf/..."}},
	{pkg: "internal/redistest"},
	{pkg: "internal/listen"},
	{pkg: "internal/proxyproto"},
	{pkg: "internal/lint"},
	// The OpenTelemetry wiring: the SDK, the exporters and the span calls
	// the others make.
	{pkg: "internal/telemetry", imports: []string{"codec"}},
	{pkg: "internal/telemetry/telemetrytest"},
}

// externalRules restricts imports from outside the module: a package whose
// path starts with prefix may be imported only by the packages listed (and
// by their tests when testOnly lists them). The first matching prefix
// applies.
var externalRules = []struct {
	prefix   string
	allowed  []string
	testOnly []string
}{
	// The SDK, its exporters and the OTLP protobuf (a test's collector)
	// stay in the one package that configures tracing.
	// Tests elsewhere make a Tracer whose spans they read back.
	// The hub's tests are the edge's (the viewers are there).
	{prefix: "go.opentelemetry.io/otel/sdk", allowed: []string{"internal/telemetry"}, testOnly: []string{"ingest", "edge", "cmd/danmu"}},
	{prefix: "go.opentelemetry.io/otel/exporters", allowed: []string{"internal/telemetry"}},
	{prefix: "go.opentelemetry.io/proto/otlp", allowed: []string{"internal/telemetry/telemetrytest"}},
	// The API: attributes on spans where they are made. codec, the
	// edge and the rest know nothing of tracing.
	{prefix: "go.opentelemetry.io/", allowed: []string{"internal/telemetry/...", "ingest", "fanout", "stream"}, testOnly: []string{"edge", "cmd/danmu"}},
}

// testHelpers are packages that only tests import: any package's test files
// may import them, its other files only if its rule says so.
var testHelpers = []string{"internal/redistest", "internal/telemetry/telemetrytest"}

// matches reports whether the relative package path rel matches pattern.
func matches(pattern, rel string) bool {
	base, tree := strings.CutSuffix(pattern, "/...")
	if tree {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

func (r rule) allows(rel string) bool { return matchesAny(r.imports, rel) }

// allowsInTests reports whether the package's test files may import rel,
// besides what allows says.
func (r rule) allowsInTests(rel string) bool { return matchesAny(r.testImports, rel) }

func matchesAny(patterns []string, rel string) bool {
	return slices.ContainsFunc(patterns, func(pattern string) bool { return matches(pattern, rel) })
}

func (r rule) describe() string {
	s := "no package of this module"
	if len(r.imports) > 0 {
		s = "only " + strings.Join(r.imports, ", ")
	}
	if len(r.testImports) > 0 {
		s += " (and in tests " + strings.Join(r.testImports, ", ") + ")"
	}
	return s
}

func ruleFor(rel string) (rule, bool) {
	for _, r := range rules {
		if matches(r.pkg, rel) {
			return r, true
		}
	}
	return rule{}, false
}

// module is the main module as `go list` describes it.
type module struct {
	Path string // module path
	Dir  string // root directory
}

// pkg is one package as `go list -json` describes it.
type pkg struct {
	ImportPath   string
	Dir          string
	Name         string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// rel returns the path of importPath relative to the module root, and false
// when importPath is outside the module.
func (m module) rel(importPath string) (string, bool) {
	if importPath == m.Path {
		return ".", true
	}
	return strings.CutPrefix(importPath, m.Path+"/")
}

// run runs a command in dir and returns its standard output, failing the
// test with the standard error when the command fails.
func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// mainModule describes the module this test is built in.
func mainModule(t *testing.T) module {
	t.Helper()
	var m module
	if err := json.Unmarshal(run(t, ".", "go", "list", "-m", "-json"), &m); err != nil {
		t.Fatalf("decode go list -m -json: %v", err)
	}
	return m
}

// moduleDirs returns the root directory of the main module and of every
// module nested in it: the directories of the go.mod files git tracks or
// would add. The main module's `go list ./...` stops at a nested module,
// such as perf/, which keeps the load generator's dependencies out of the
// server's go.mod.
func moduleDirs(t *testing.T, m module) []string {
	t.Helper()
	var dirs []string
	out := run(t, m.Dir, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "go.mod", "*/go.mod")
	for name := range strings.SplitSeq(string(out), "\x00") {
		if name != "" && !slices.Contains(dirs, filepath.Dir(name)) {
			dirs = append(dirs, filepath.Dir(name))
		}
	}
	if !slices.Contains(dirs, ".") {
		t.Fatalf("git ls-files found no go.mod in %s", m.Dir)
	}
	return dirs
}

// loadModule lists the main module and the packages of it and of the
// modules nested in it. A nested module's path lies under the main
// module's, so the rules name its packages by their paths relative to the
// main module's root, as if they were the main module's.
func loadModule(t *testing.T) (module, []pkg) {
	t.Helper()
	m := mainModule(t)
	var pkgs []pkg
	for _, dir := range moduleDirs(t, m) {
		out := run(t, filepath.Join(m.Dir, dir), "go", "list", "-json=ImportPath,Dir,Name,Imports,TestImports,XTestImports", "./...")
		n := len(pkgs)
		for dec := json.NewDecoder(bytes.NewReader(out)); ; {
			var p pkg
			err := dec.Decode(&p)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("decode go list -json in %s: %v", dir, err)
			}
			if _, ok := m.rel(p.ImportPath); !ok {
				t.Fatalf("package %s of the module in %s lies outside %s: give that module a path under it", p.ImportPath, dir, m.Path)
			}
			pkgs = append(pkgs, p)
		}
		if len(pkgs) == n {
			t.Fatalf("go list ./... in %s found no packages", filepath.Join(m.Dir, dir))
		}
	}
	return m, pkgs
}

func TestForbiddenImports(t *testing.T) {
	m, pkgs := loadModule(t)
	for _, p := range pkgs {
		rel, _ := m.rel(p.ImportPath)
		r, ok := ruleFor(rel)
		if !ok {
			t.Errorf("package %s has no rule: add one to rules in internal/lint/lint_test.go listing the module packages it may import", rel)
			continue
		}
		check := func(kind string, imports []string, test bool) {
			for _, imp := range imports {
				impRel, inModule := m.rel(imp)
				if !inModule || r.allows(impRel) ||
					(test && (impRel == rel || r.allowsInTests(impRel) || slices.Contains(testHelpers, impRel))) {
					continue
				}
				t.Errorf("%s: %s imports %s; %s may import %s (rules in internal/lint/lint_test.go)",
					rel, kind, impRel, rel, r.describe())
			}
		}
		check("package", p.Imports, false)
		check("test", p.TestImports, true)
		check("external test", p.XTestImports, true)
	}
}

// TestExternalImports checks externalRules: tracing libraries only where
// tracing is wired.
func TestExternalImports(t *testing.T) {
	m, pkgs := loadModule(t)
	for _, p := range pkgs {
		rel, _ := m.rel(p.ImportPath)
		check := func(kind string, imports []string, test bool) {
			for _, imp := range imports {
				if _, inModule := m.rel(imp); inModule {
					continue
				}
				for _, r := range externalRules {
					if !strings.HasPrefix(imp, r.prefix) {
						continue
					}
					if !matchesAny(r.allowed, rel) && !(test && matchesAny(r.testOnly, rel)) {
						t.Errorf("%s: %s imports %s; only %s may import %s* (externalRules in internal/lint/lint_test.go)",
							rel, kind, imp, strings.Join(append(r.allowed, r.testOnly...), ", "), r.prefix)
					}
					break
				}
			}
		}
		check("package", p.Imports, false)
		check("test", p.TestImports, true)
		check("external test", p.XTestImports, true)
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern, rel string
		want         bool
	}{
		{"codec", "codec", true},
		{"codec", "codec/sub", false},
		{"codec", "codecs", false},
		{"perf/...", "perf", true},
		{"perf/...", "perf/load", true},
		{"perf/...", "perf/load/client", true},
		{"perf/...", "perfx", false},
		{"perf/...", "cmd/perf", false},
	}
	for _, tt := range tests {
		if got := matches(tt.pattern, tt.rel); got != tt.want {
			t.Errorf("matches(%q, %q) = %v; want %v", tt.pattern, tt.rel, got, tt.want)
		}
	}
}

// TestPackageDocs checks that every package in a top-level directory has a
// doc.go whose package comment starts with "Package <name> ", where the
// package says what it owns and what it must not import.
func TestPackageDocs(t *testing.T) {
	m, pkgs := loadModule(t)
	for _, p := range pkgs {
		rel, _ := m.rel(p.ImportPath)
		if strings.Contains(rel, "/") {
			continue
		}
		file := filepath.Join(p.Dir, "doc.go")
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Errorf("package %s needs a doc.go with a package comment: %v", rel, err)
			continue
		}
		if f.Doc == nil {
			t.Errorf("%s has no package comment", file)
			continue
		}
		if want := "Package " + f.Name.Name + " "; f.Name.Name != "main" && !strings.HasPrefix(f.Doc.Text(), want) {
			t.Errorf("%s: package comment starts %q; want it to start with %q", file, firstLine(f.Doc.Text()), want)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestGofmt checks that every Go file tracked by git is gofmt-formatted.
func TestGofmt(t *testing.T) {
	m := mainModule(t)
	var files []string
	for name := range strings.SplitSeq(string(run(t, m.Dir, "git", "ls-files", "-z", "--", "*.go")), "\x00") {
		if name == "" {
			continue
		}
		// A tracked file deleted in the working tree is not there to format.
		if _, err := os.Stat(filepath.Join(m.Dir, name)); err == nil {
			files = append(files, name)
		}
	}
	if len(files) == 0 {
		t.Fatalf("git ls-files found no Go files in %s", m.Dir)
	}
	if out := run(t, m.Dir, "gofmt", append([]string{"-l"}, files...)...); len(out) > 0 {
		t.Errorf("files not formatted by gofmt (run gofmt -w on them):\n%s", out)
	}
}
