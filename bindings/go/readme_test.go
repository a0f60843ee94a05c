package mserve

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's Go block compiles against this binding, as the body of an
// HTTP handler (the names it takes for granted are the handler's arguments).
func TestReadmeGoBlockCompiles(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if os.IsNotExist(err) {
		t.Skip("no README.md above the binding")
	}
	must(t, err)
	blocks := regexp.MustCompile("(?ms)^```go\n(.*?)^```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no Go block")
	}
	module, err := filepath.Abs(".")
	must(t, err)
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module readme\n\ngo 1.19\n\nrequire mserve v0.0.0\n\nreplace mserve => " + module + "\n",
	}
	for i, b := range blocks {
		files[filepath.Join(dir, "block"+string(rune('a'+i))+".go")] = `package readme

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"mserve"
)

var _, _, _ = errors.New, fmt.Sprint, time.Second

func handler` + string(rune('a'+i)) + `(w http.ResponseWriter, tracker *mserve.Tracker, requestID, key string) {
` + b[1] + `}
`
	}
	for name, text := range files {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		must(t, os.WriteFile(name, []byte(text), 0o644))
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's Go block does not compile: %v\n%s", err, strings.TrimSpace(string(out)))
	}
}
