// Package repo checks the repository's front door: the README opens with
// the two commands a new user types, CI runs exactly the README's test
// command, and the Makefile targets behind them do what they promise.
package repo

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// repoRoot is the module root.
var repoRoot = testutil.RepoRoot()

func readFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readmeCommands returns the commands of the README's opening code block,
// which must come right after the title, before any prose.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(readFile(t, "README.md")))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	i := 0
	if i >= len(lines) || !strings.HasPrefix(lines[i], "# ") {
		t.Fatalf("README.md does not start with a title: %q", lines[0])
	}
	for i++; i < len(lines) && strings.TrimSpace(lines[i]) == ""; i++ {
	}
	if i >= len(lines) || lines[i] != "```sh" {
		t.Fatalf("README.md: after the title comes %q, not the commands' code block", lines[min(i, len(lines)-1)])
	}
	var cmds []string
	for i++; i < len(lines) && lines[i] != "```"; i++ {
		cmd, _, _ := strings.Cut(lines[i], "#")
		if cmd = strings.TrimSpace(cmd); cmd != "" {
			cmds = append(cmds, strings.Join(strings.Fields(cmd), " "))
		}
	}
	return cmds
}

func TestReadmeOpensWithTheTwoCommands(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) != 2 {
		t.Fatalf("README.md opens with %d commands %q, want two: run the agent, run the tests", len(cmds), cmds)
	}
	for i, want := range []string{"sudo make run", "sudo make deps test"} {
		if cmds[i] != want {
			t.Errorf("README.md command %d = %q, want %q", i+1, cmds[i], want)
		}
	}
	// Both targets exist and say what they do.
	help := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(runMake(t, repoRoot, nil, "help"), "")
	for _, target := range []string{"run", "deps", "test"} {
		if !strings.Contains(help, " "+target+" ") {
			t.Errorf("make help does not list %q:\n%s", target, help)
		}
	}
}

// TestCIRunsTheReadmeTestCommand checks that .ci/run runs the README's test
// command as written (CI is root, so without sudo) and sets nothing a user
// following the README would not have.
func TestCIRunsTheReadmeTestCommand(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) < 2 {
		t.Fatalf("README.md commands %q", cmds)
	}
	want := strings.TrimPrefix(cmds[1], "sudo ")
	ci := readFile(t, ".ci/run")
	found := false
	for _, line := range strings.Split(ci, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == want {
			found = true
		}
		for _, env := range []string{"VIGIL_", "CI=", "export CI"} {
			if strings.Contains(line, env) {
				t.Errorf(".ci/run sets %q, which the README's command lacks: %s", env, line)
			}
		}
	}
	if !found {
		t.Errorf(".ci/run does not run the README's test command %q", want)
	}
}

// runMake runs make in dir with extra variables in the environment (the
// caller's VIGIL_STRICT_TESTS and CI removed) and returns its output; it
// fails the test when make fails.
func runMake(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := makeIn(dir, env, args...)
	if err != nil {
		t.Fatalf("make %v: %v\n%s", args, err, out)
	}
	return out
}

func makeIn(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-C", dir}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VIGIL_STRICT_TESTS=") && !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, "MAKEFLAGS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestMakeTestIsStrictAsRoot checks the go test lines `make test` runs: as
// root strict (a missing prerequisite fails), otherwise not, and a user's
// own VIGIL_STRICT_TESTS wins.
func TestMakeTestIsStrictAsRoot(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	asRoot := "VIGIL_STRICT_TESTS= "
	if os.Geteuid() == 0 {
		asRoot = "VIGIL_STRICT_TESTS=1 "
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"default", nil, asRoot},
		{"turned off", []string{"VIGIL_STRICT_TESTS="}, "VIGIL_STRICT_TESTS= "},
		{"turned on", []string{"VIGIL_STRICT_TESTS=1"}, "VIGIL_STRICT_TESTS=1 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runMake(t, repoRoot, tc.env, "-n", "test")
			n := 0
			for _, line := range strings.Split(out, "\n") {
				if !strings.Contains(line, " test ") || !strings.Contains(line, "go") {
					continue
				}
				n++
				if !strings.HasPrefix(line, tc.want) {
					t.Errorf("make test runs %q, want it to start with %q", line, tc.want)
				}
			}
			if n == 0 {
				t.Fatalf("no go test line in make -n test:\n%s", out)
			}
		})
	}
}

// requireRoot is the call that marks a test needing root, spelt so that
// this file does not contain it.
var requireRoot = "testutil." + "RequireRoot("

// TestRootPackagesCoverEveryRootTest lists, with go list, every package
// whose tests call testutil.RequireRoot, directly or through a test helper
// package of this module, and checks that `make test-root` runs each.
func TestRootPackagesCoverEveryRootTest(t *testing.T) {
	out, err := exec.Command("go", "list", "-C", repoRoot, "-f",
		"{{.ImportPath}}|{{.Dir}}|{{join .GoFiles \",\"}}|{{join .TestGoFiles \",\"}},{{join .XTestGoFiles \",\"}}|{{join .TestImports \",\"}},{{join .XTestImports \",\"}}",
		"./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		dir            string
		code, tests    []string
		testImports    []string
		callsRoot      bool // its non-test files call RequireRoot
		testsCallsRoot bool
	}
	calls := func(dir string, files []string) bool {
		for _, f := range files {
			if f == "" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), requireRoot) {
				return true
			}
		}
		return false
	}
	pkgs := map[string]*pkg{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		p := &pkg{dir: f[1], code: strings.Split(f[2], ","), tests: strings.Split(f[3], ","), testImports: strings.Split(f[4], ",")}
		p.callsRoot = calls(p.dir, p.code)
		p.testsCallsRoot = calls(p.dir, p.tests)
		pkgs[f[0]] = p
	}
	var want []string
	for _, p := range pkgs {
		if strings.Trim(strings.Join(p.tests, ""), ",") == "" {
			continue
		}
		root := p.callsRoot || p.testsCallsRoot
		for _, imp := range p.testImports {
			if q, ok := pkgs[imp]; ok && q.callsRoot {
				root = true
			}
		}
		if root {
			rel, err := filepath.Rel(repoRoot, p.dir)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, "./"+filepath.ToSlash(rel))
		}
	}
	if len(want) < 5 {
		t.Fatalf("only %d packages with root tests found: %v", len(want), want)
	}
	dry := runMake(t, repoRoot, nil, "-n", "test-root")
	covered := func(pkg string) bool {
		for _, f := range strings.Fields(dry) {
			if f == pkg || (strings.HasSuffix(f, "/...") && (pkg == strings.TrimSuffix(f, "/...") || strings.HasPrefix(pkg, strings.TrimSuffix(f, "...")))) {
				return true
			}
		}
		return false
	}
	for _, w := range want {
		if !covered(w) {
			t.Errorf("make test-root leaves out %s, whose tests need root", w)
		}
	}
}
