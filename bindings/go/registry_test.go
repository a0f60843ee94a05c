package mserve

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistrySettingsOverridesAndVersions(t *testing.T) {
	dir := t.TempDir()
	reg, err := openStore(t).Registry("")
	must(t, err)
	m, err := reg.Register(writeMar(t, filepath.Join(dir, "echo.mar"), "echo", "1.0", "batchSize: 8\nmaxBatchDelay: 20\n"),
		Overrides{"max_queue_size": 7})
	must(t, err)
	if m.Name != "echo" || m.Version != "1.0" || m.Handler != "handler.py" || !m.IsDefault || len(m.ContentHash) != 64 {
		t.Fatalf("model %+v", m)
	}
	want := map[string]Setting{"batch_size": {"8", SrcArchive}, "max_batch_delay_us": {"20000", SrcArchive},
		"max_queue_size": {"7", SrcAPI}, "device": {"cpu", SrcDefault}}
	for k, v := range want {
		if m.Settings[k] != v {
			t.Errorf("%s: %+v, want %+v", k, m.Settings[k], v)
		}
	}
	if n, err := m.Int("batch_size"); err != nil || n != 8 {
		t.Fatalf("Int: %d %v", n, err)
	}
	if m.Keys[0] != "batch_size" {
		t.Fatalf("keys %v", m.Keys)
	}
	must(t, reg.Update("echo", "", Overrides{"max_queue_size": nil, "device": "cuda"}))
	m, err = reg.Get("echo", "")
	must(t, err)
	if m.Settings["max_queue_size"] != (Setting{"100", SrcDefault}) || m.Settings["device"] != (Setting{"cuda", SrcAPI}) {
		t.Fatalf("after update %+v", m.Settings)
	}
	if err := reg.Update("echo", "", Overrides{"bogus": 1}); !errors.Is(err, ErrInval) {
		t.Fatalf("unknown key: %v", err)
	}
	_, err = reg.Register(writeMar(t, filepath.Join(dir, "echo2.mar"), "echo", "2.0", ""), nil)
	must(t, err)
	if err := reg.Unregister("echo", "1.0"); !errors.Is(err, ErrConflict) {
		t.Fatalf("unregistering the default: %v", err)
	}
	must(t, reg.SetDefault("echo", "2.0"))
	must(t, reg.Unregister("echo", "1.0"))
	_, err = reg.Get("echo", "1.0")
	var e *Error
	if !errors.As(err, &e) || e.Status != ENotFound || !strings.Contains(e.Message, "'echo'") {
		t.Fatalf("get of an unregistered version: %v", err)
	}
	list, err := reg.List("")
	must(t, err)
	if len(list) != 1 || list[0].Version != "2.0" || !list[0].IsDefault {
		t.Fatalf("list %+v", list)
	}
	folder, err := reg.Materialize(list[0], filepath.Join(dir, "extracted"))
	must(t, err)
	if _, err := os.Stat(filepath.Join(folder, "MAR-INF", "MANIFEST.json")); err != nil {
		t.Fatal(err)
	}
	must(t, reg.SetLimits(1, 1<<30, 1000))
	m3, err := reg.Register(writeMar(t, filepath.Join(dir, "big.mar"), "big", "1.0", ""), nil)
	must(t, err)
	if _, err := reg.Materialize(m3, filepath.Join(dir, "extracted")); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("over the entry limit: %v", err)
	}
}

func TestScanInspectValidateAndGlobalConfig(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	must(t, os.Mkdir(models, 0o755))
	writeMar(t, filepath.Join(models, "a.mar"), "a", "1.0", "")
	writeMar(t, filepath.Join(models, "b.mar"), "b", "1.0", "")
	must(t, os.WriteFile(filepath.Join(models, "bad.mar"), []byte("not a zip"), 0o644))
	cfg := filepath.Join(dir, "config.json")
	body, _ := json.Marshal(map[string]any{"defaults": map[string]any{"batch_size": 3, "marName": "x"},
		"model_store": "/srv/models"})
	must(t, os.WriteFile(cfg, body, 0o644))
	reg, err := openStore(t).Registry(cfg)
	must(t, err)
	rep, err := reg.Scan(models)
	must(t, err)
	if rep.Counts[ScanAdded] != 2 || rep.Counts[ScanFailed] != 1 || len(rep.Entries) != 3 {
		t.Fatalf("report %+v", rep)
	}
	for _, e := range rep.Entries {
		if e.Outcome == ScanFailed && (!strings.HasSuffix(e.Path, "bad.mar") || e.Status == OK) {
			t.Fatalf("failed entry %+v", e)
		}
	}
	if rep, _ := reg.Scan(models); rep.Counts[ScanUnchanged] != 2 {
		t.Fatalf("rescan %+v", rep.Counts)
	}
	m, err := reg.Get("a", "")
	must(t, err)
	if m.Settings["batch_size"] != (Setting{"3", SrcGlobal}) {
		t.Fatalf("global default %+v", m.Settings["batch_size"])
	}
	keys, err := reg.UnusedKeys()
	must(t, err)
	if len(keys) == 0 || keys[0].Key != "defaults.marName" {
		t.Fatalf("unused keys %+v", keys)
	}
	if v, err := reg.Global("model_store"); err != nil || v != "/srv/models" {
		t.Fatalf("global %q %v", v, err)
	}
	if _, err := reg.Global("absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent global: %v", err)
	}
	if _, err := reg.Scan(filepath.Join(dir, "nowhere")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("scan of no folder: %v", err)
	}
	im, err := InspectArchive(filepath.Join(models, "a.mar"), "")
	must(t, err)
	if im.Name != "a" || im.IsDefault {
		t.Fatalf("inspect %+v", im)
	}
	if _, err := ValidateArchive(filepath.Join(models, "a.mar"), cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateArchive(filepath.Join(models, "bad.mar"), ""); err == nil {
		t.Fatal("validated a broken archive")
	}
}
