package mserve

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// usedNames is every ms_* name the binding uses: C.ms_x in Go code (calls,
// and C types too, which no export is named after) and ms_x(...) in the cgo
// preambles.
func usedNames(t *testing.T) map[string]bool {
	files, err := filepath.Glob("*.go")
	must(t, err)
	goCall := regexp.MustCompile(`\bC\.(ms_[a-z][a-z0-9_]*)\b`)
	preamble := regexp.MustCompile(`(?s)/\*(.*?)\*/\s*import "C"`)
	cCall := regexp.MustCompile(`\b(ms_[a-z][a-z0-9_]*)\s*\(`)
	used := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		must(t, err)
		for _, m := range goCall.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = true
		}
		for _, p := range preamble.FindAllStringSubmatch(string(src), -1) {
			for _, m := range cCall.FindAllStringSubmatch(p[1], -1) {
				used[m[1]] = true
			}
		}
	}
	return used
}

func exportedNames(t *testing.T) map[string]bool {
	lib := filepath.Join(pkgConfigVar(t, "libdir"), "libmserve.so.1")
	out, err := exec.Command("nm", "-D", "--defined-only", lib).Output()
	if err != nil {
		t.Fatalf("nm -D %s: %v", lib, err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.ContainsAny(f[1], "TtWi") && strings.HasPrefix(f[2], "ms_") {
			names[strings.SplitN(f[2], "@", 2)[0]] = true
		}
	}
	return names
}

func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func TestEveryExportedFunctionIsBound(t *testing.T) {
	exports, used := exportedNames(t), usedNames(t)
	if len(exports) < 100 {
		t.Fatalf("only %d exports found", len(exports))
	}
	if missing := diff(exports, used); len(missing) > 0 {
		t.Errorf("exported by the library but called nowhere in the binding: %v", missing)
	}
	// The other way round needs no test: a call of a function the library
	// lacks does not link.
}

// Every constant of the headers has a Go constant made from it (C.MS_X), so
// its value is the C value by construction.
func TestEveryHeaderConstantIsMirrored(t *testing.T) {
	headers, err := filepath.Glob(filepath.Join(pkgConfigVar(t, "includedir"), "mserve", "*.h"))
	must(t, err)
	if len(headers) < 7 {
		t.Fatalf("headers not found: %v", headers)
	}
	comment := regexp.MustCompile(`(?s)/\*.*?\*/`)
	define := regexp.MustCompile(`(?m)^\s*#\s*define\s+(MS_[A-Z0-9_]+)\s+\S`)
	member := regexp.MustCompile(`\b(MS_[A-Z0-9_]+)\s*=\s*-?\d`)
	want := map[string]bool{}
	for _, h := range headers {
		src, err := os.ReadFile(h)
		must(t, err)
		text := comment.ReplaceAllString(string(src), " ")
		for _, re := range []*regexp.Regexp{define, member} {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				want[m[1]] = true
			}
		}
	}
	delete(want, "MS_API")
	files, _ := filepath.Glob("*.go")
	have := map[string]bool{}
	ref := regexp.MustCompile(`\bC\.(MS_[A-Z0-9_]+)\b`)
	for _, f := range files {
		src, _ := os.ReadFile(f)
		for _, m := range ref.FindAllStringSubmatch(string(src), -1) {
			have[m[1]] = true
		}
	}
	have["MS_SEC"] = true            // a function-like macro: Sec()
	have["MS_VERSION_NUMBER"] = true // VersionNumber() reads the running library's
	if missing := diff(want, have); len(missing) > 0 {
		t.Errorf("header constants without a Go constant: %v", missing)
	}
	if Sec(7) != 7000000 {
		t.Errorf("Sec(7) = %d", Sec(7))
	}
	if VersionNumber()/10000 != VersionMajor {
		t.Errorf("library %s, binding major %d", Version(), VersionMajor)
	}
}

// The test binary runs the library pkg-config names (the build tree's or an
// install's), not a copy found elsewhere on the loader's path nor one an
// earlier build was linked against.
func TestRunsTheLibraryPkgConfigNames(t *testing.T) {
	_ = Version() // the library is loaded at start; a call makes the dependency plain
	maps, err := os.ReadFile("/proc/self/maps")
	must(t, err)
	want, err := filepath.EvalSymlinks(filepath.Join(pkgConfigVar(t, "libdir"), "libmserve.so.1"))
	must(t, err)
	var loaded []string
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) == 6 && strings.Contains(filepath.Base(f[5]), "libmserve.so") {
			loaded = append(loaded, f[5])
		}
	}
	if len(loaded) == 0 {
		t.Fatalf("no libmserve.so mapped into the test binary")
	}
	for _, p := range loaded {
		if p != want {
			t.Errorf("the test binary runs %s, pkg-config names %s", p, want)
		}
	}
}
