package mserve

import (
	"archive/zip"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// t0 is a fixed wall-clock time for the tests that pass one.
var t0 = time.UnixMicro(1_700_000_000_000_000)

func pkgConfigVar(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("pkg-config", "--variable="+name, "mserve").Output()
	if err != nil {
		t.Fatalf("pkg-config --variable=%s mserve: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "test.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeMar writes a TorchServe .mar (zip) with a manifest, a handler, the
// serialized file and, when config is not "", a model-config.yaml.
func writeMar(t *testing.T, path, name, version, config string) string {
	t.Helper()
	model := map[string]string{"modelName": name, "modelVersion": version, "handler": "handler.py",
		"serializedFile": "model.pt"}
	if config != "" {
		model["configFile"] = "model-config.yaml"
	}
	manifest, _ := json.Marshal(map[string]any{"createdOn": "01/01/2025 00:00:00", "runtime": "python",
		"model": model, "archiverVersion": "0.9.0"})
	f, err := os.Create(path)
	must(t, err)
	z := zip.NewWriter(f)
	files := map[string]string{"MAR-INF/MANIFEST.json": string(manifest), "handler.py": "def handle(d, c):\n  return d\n",
		"model.pt": "weights"}
	if config != "" {
		files["model-config.yaml"] = config
	}
	for n, body := range files {
		w, err := z.Create(n)
		must(t, err)
		_, err = w.Write([]byte(body))
		must(t, err)
	}
	must(t, z.Close())
	must(t, f.Close())
	return path
}

// writeMLP writes a built-in MLP folder of one F32 layer (weights [out][in], bias [out]).
func writeMLP(t *testing.T, dir string, w [][]float32, b []float32, activation string) string {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(dir, "MAR-INF"), 0o755))
	manifest := `{"runtime": "python", "model": {"modelName": "mlp", "modelVersion": "1.0", "handler": "mserve:mlp",
"serializedFile": "model.safetensors", "configFile": "model-config.yaml"}}`
	must(t, os.WriteFile(filepath.Join(dir, "MAR-INF", "MANIFEST.json"), []byte(manifest), 0o644))
	cfg := "mlp:\n  layers: [fc1]\n  activation: " + activation + "\n"
	must(t, os.WriteFile(filepath.Join(dir, "model-config.yaml"), []byte(cfg), 0o644))
	var data []byte
	put := func(vals []float32) [2]int {
		start := len(data)
		for _, v := range vals {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		return [2]int{start, len(data)}
	}
	var flat []float32
	for _, row := range w {
		flat = append(flat, row...)
	}
	header := map[string]any{
		"fc1.weight": map[string]any{"dtype": "F32", "shape": []int{len(w), len(w[0])}, "data_offsets": put(flat)},
		"fc1.bias":   map[string]any{"dtype": "F32", "shape": []int{len(b)}, "data_offsets": put(b)},
	}
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	file = append(append(file, h...), data...)
	must(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), file, 0o644))
	return dir
}

func durationMicros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }
