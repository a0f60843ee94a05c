package mserve

/*
#include <stdlib.h>
#include <mserve.h>
static void gomserve_registry_close(void *p) { ms_registry_close(p); }
*/
import "C"

import (
	"fmt"
	"runtime"
	"strconv"
	"unsafe"
)

// ConfigSource is where a resolved setting came from.
type ConfigSource int32

// Sources, lowest precedence first.
const (
	SrcDefault ConfigSource = C.MS_SRC_DEFAULT
	SrcGlobal  ConfigSource = C.MS_SRC_GLOBAL
	SrcArchive ConfigSource = C.MS_SRC_ARCHIVE
	SrcAPI     ConfigSource = C.MS_SRC_API
)

// ScanOutcome is what a scan did with one path.
type ScanOutcome int32

// Scan outcomes.
const (
	ScanAdded     ScanOutcome = C.MS_SCAN_ADDED
	ScanUpdated   ScanOutcome = C.MS_SCAN_UPDATED
	ScanUnchanged ScanOutcome = C.MS_SCAN_UNCHANGED
	ScanFailed    ScanOutcome = C.MS_SCAN_FAILED
	ScanMissing   ScanOutcome = C.MS_SCAN_MISSING
	ScanSkipped   ScanOutcome = C.MS_SCAN_SKIPPED
	ScanConflict  ScanOutcome = C.MS_SCAN_CONFLICT
)

// Materialize limits' defaults.
const (
	RegistryDefaultMaxEntries = C.MS_REGISTRY_DEFAULT_MAX_ENTRIES
	RegistryDefaultMaxBytes   = C.MS_REGISTRY_DEFAULT_MAX_BYTES
	RegistryDefaultMaxRatio   = C.MS_REGISTRY_DEFAULT_MAX_RATIO
)

// Setting is a resolved setting as text (integers in decimal) and its source.
type Setting struct {
	Value  string
	Source ConfigSource
}

// Model is a snapshot of one registered version. Its C snapshot is freed by
// the garbage collector once the Model is unreachable.
type Model struct {
	Name, Version, Runtime, Handler string
	ArchivePath, ContentHash        string
	IsDefault, IsMissing            bool
	Settings                        map[string]Setting
	// Keys lists Settings' keys in the library's order (canonical keys first).
	Keys []string

	owner *snapshotOwner
	ptr   *C.ms_model
}

// snapshotOwner frees a model snapshot or a model list when unreachable.
type snapshotOwner struct {
	free func()
}

func newOwner(free func()) *snapshotOwner {
	o := &snapshotOwner{free: free}
	runtime.SetFinalizer(o, func(o *snapshotOwner) { o.free() })
	return o
}

// Int is a setting's value as an integer (canonical integer keys).
func (m *Model) Int(key string) (int64, error) {
	s, ok := m.Settings[key]
	if !ok {
		return 0, fmt.Errorf("model %q version %q: no setting %q", m.Name, m.Version, key)
	}
	return strconv.ParseInt(s.Value, 10, 64)
}

func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// newModel copies an ms_model's values; owner nil: the Model owns ptr.
func newModel(ptr *C.ms_model, owner *snapshotOwner) (*Model, error) {
	if owner == nil {
		owner = newOwner(func() { C.ms_model_free(ptr) })
	}
	m := &Model{Name: goString(C.ms_model_name(ptr)), Version: goString(C.ms_model_version(ptr)),
		Runtime: goString(C.ms_model_runtime(ptr)), Handler: goString(C.ms_model_handler(ptr)),
		ArchivePath: goString(C.ms_model_archive_path(ptr)), ContentHash: goString(C.ms_model_content_hash(ptr)),
		IsDefault: C.ms_model_is_default(ptr) != 0, IsMissing: C.ms_model_is_missing(ptr) != 0,
		Settings: map[string]Setting{}, owner: owner, ptr: ptr}
	n := int(C.ms_model_setting_count(ptr))
	for i := 0; i < n; i++ {
		var k, v *C.char
		var src C.ms_config_source
		if err := call(func() C.int { return C.ms_model_get_setting(ptr, C.size_t(i), &k, &v, &src) }); err != nil {
			return nil, err
		}
		m.Keys = append(m.Keys, goString(k))
		m.Settings[goString(k)] = Setting{Value: goString(v), Source: ConfigSource(src)}
	}
	// The typed reads, so that a text/int disagreement would show here.
	ck := C.CString("batch_size")
	defer free(ck)
	var iv C.int64_t
	var src C.ms_config_source
	if err := call(func() C.int { return C.ms_model_get_int(ptr, ck, &iv, &src) }); err != nil {
		return nil, err
	}
	if s := m.Settings["batch_size"]; s.Value != strconv.FormatInt(int64(iv), 10) || s.Source != ConfigSource(src) {
		return nil, &Error{Status: EInternal, Name: StatusName(EInternal), Message: "mserve: batch_size text differs"}
	}
	dk := C.CString("device")
	defer free(dk)
	var sv *C.char
	if err := call(func() C.int { return C.ms_model_get_str(ptr, dk, &sv, &src) }); err != nil {
		return nil, err
	}
	m.Settings["device"] = Setting{Value: goString(sv), Source: ConfigSource(src)}
	runtime.KeepAlive(owner)
	return m, nil
}

// Overrides are runtime settings: an int (int, int64) or a string per key;
// nil clears the key (the setting falls back to the archive, global config or
// default).
type Overrides map[string]any

func buildOverrides(ov Overrides) (*C.ms_overrides, error) {
	if ov == nil {
		return nil, nil
	}
	var o *C.ms_overrides
	if err := call(func() C.int { return C.ms_overrides_new(&o) }); err != nil {
		return nil, err
	}
	for k, v := range ov {
		ck := C.CString(k)
		var err error
		switch x := v.(type) {
		case nil:
			err = call(func() C.int { return C.ms_overrides_clear(o, ck) })
		case string:
			cv := C.CString(x)
			err = call(func() C.int { return C.ms_overrides_set_str(o, ck, cv) })
			free(cv)
		case int:
			err = call(func() C.int { return C.ms_overrides_set_int(o, ck, C.int64_t(x)) })
		case int64:
			err = call(func() C.int { return C.ms_overrides_set_int(o, ck, C.int64_t(x)) })
		default:
			err = &Error{Status: EInval, Name: StatusName(EInval),
				Message: fmt.Sprintf("mserve: override %q: a %T is neither an integer nor a string", k, v)}
		}
		free(ck)
		if err != nil {
			C.ms_overrides_free(o)
			return nil, err
		}
	}
	return o, nil
}

// Registry holds the model archives registered in a store. Safe for concurrent use.
type Registry struct {
	h     *handle
	store *Store
}

// Registry opens the registry of the store; globalConfig ("" : none) names
// the global config file (JSON or TorchServe properties).
func (s *Store) Registry(globalConfig string) (*Registry, error) {
	cfg := cStringOrNil(globalConfig)
	defer free(cfg)
	var out *C.ms_registry
	if err := s.with(func(p *C.ms_store) C.int { return C.ms_registry_open(p, cfg, &out) }); err != nil {
		return nil, err
	}
	r := &Registry{h: newHandle(unsafe.Pointer(out), func(p unsafe.Pointer) { C.gomserve_registry_close(p) },
		"registry", s.h), store: s}
	runtime.SetFinalizer(r, (*Registry).Close)
	return r, nil
}

// Close closes the registry. Idempotent.
func (r *Registry) Close() error {
	r.h.close()
	return nil
}

func (r *Registry) with(f func(p *C.ms_registry) C.int) error {
	err := r.h.run(func(p unsafe.Pointer) C.int { return f((*C.ms_registry)(p)) })
	runtime.KeepAlive(r)
	return err
}

// SetLimits sets what Materialize accepts: entries, total bytes, ratio to the archive's size.
func (r *Registry) SetLimits(maxEntries, maxTotalBytes, maxRatio int64) error {
	return r.with(func(p *C.ms_registry) C.int {
		return C.ms_registry_set_limits(p, C.int64_t(maxEntries), C.int64_t(maxTotalBytes), C.int64_t(maxRatio))
	})
}

// ScanEntry is one path of a scan.
type ScanEntry struct {
	Path    string
	Outcome ScanOutcome
	Status  Status
	Message string
}

// ScanReport is every path a scan looked at, and the count of each outcome.
type ScanReport struct {
	Entries []ScanEntry
	Counts  map[ScanOutcome]int
}

// Scan registers every archive of the folder (see registry.h); bad archives
// are entries of the report, not errors.
func (r *Registry) Scan(dir string) (*ScanReport, error) {
	cdir := cString(dir)
	defer free(cdir)
	var rep *C.ms_scan_report
	if err := r.with(func(p *C.ms_registry) C.int { return C.ms_registry_scan(p, cdir, &rep) }); err != nil {
		return nil, err
	}
	defer C.ms_scan_report_free(rep)
	out := &ScanReport{Counts: map[ScanOutcome]int{}}
	n := int(C.ms_scan_report_count(rep))
	for i := 0; i < n; i++ {
		var path, msg *C.char
		var oc C.ms_scan_outcome
		var st C.int
		if err := call(func() C.int { return C.ms_scan_report_get(rep, C.size_t(i), &path, &oc, &st, &msg) }); err != nil {
			return nil, err
		}
		out.Entries = append(out.Entries, ScanEntry{goString(path), ScanOutcome(oc), Status(st), goString(msg)})
	}
	for o := ScanAdded; o <= ScanConflict; o++ {
		if c := int(C.ms_scan_report_count_outcome(rep, C.ms_scan_outcome(o))); c > 0 {
			out.Counts[o] = c
		}
	}
	return out, nil
}

func (r *Registry) modelCall(f func(p *C.ms_registry, out **C.ms_model) C.int) (*Model, error) {
	var out *C.ms_model
	if err := r.with(func(p *C.ms_registry) C.int { return f(p, &out) }); err != nil {
		return nil, err
	}
	return newModel(out, nil)
}

// Register registers the archive (a .mar, .tar.gz/.tgz or folder) with runtime overrides (may be nil).
func (r *Registry) Register(archivePath string, ov Overrides) (*Model, error) {
	o, err := buildOverrides(ov)
	if err != nil {
		return nil, err
	}
	defer C.ms_overrides_free(o)
	cpath := cString(archivePath)
	defer free(cpath)
	return r.modelCall(func(p *C.ms_registry, out **C.ms_model) C.int { return C.ms_registry_register(p, cpath, o, out) })
}

// Unregister removes one version, or every version when version is "".
func (r *Registry) Unregister(name, version string) error {
	cn, cv := cString(name), cStringOrNil(version)
	defer free(cn)
	defer free(cv)
	return r.with(func(p *C.ms_registry) C.int { return C.ms_registry_unregister(p, cn, cv) })
}

// SetDefault makes version the default version of name.
func (r *Registry) SetDefault(name, version string) error {
	cn, cv := cString(name), cString(version)
	defer free(cn)
	defer free(cv)
	return r.with(func(p *C.ms_registry) C.int { return C.ms_registry_set_default(p, cn, cv) })
}

// Update merges runtime overrides into a registration (version "": the default one).
func (r *Registry) Update(name, version string, ov Overrides) error {
	o, err := buildOverrides(ov)
	if err != nil {
		return err
	}
	defer C.ms_overrides_free(o)
	cn, cv := cString(name), cStringOrNil(version)
	defer free(cn)
	defer free(cv)
	return r.with(func(p *C.ms_registry) C.int { return C.ms_registry_update(p, cn, cv, o) })
}

// Get is a snapshot of one registration (version "": the default one).
func (r *Registry) Get(name, version string) (*Model, error) {
	cn, cv := cString(name), cStringOrNil(version)
	defer free(cn)
	defer free(cv)
	return r.modelCall(func(p *C.ms_registry, out **C.ms_model) C.int { return C.ms_registry_get(p, cn, cv, out) })
}

// List is every registration of name ("" : of every model), by name then registration order.
func (r *Registry) List(name string) ([]*Model, error) {
	cn := cStringOrNil(name)
	defer free(cn)
	var l *C.ms_model_list
	if err := r.with(func(p *C.ms_registry) C.int { return C.ms_registry_list(p, cn, &l) }); err != nil {
		return nil, err
	}
	owner := newOwner(func() { C.ms_model_list_free(l) })
	n := int(C.ms_model_list_count(l))
	models := make([]*Model, 0, n)
	for i := 0; i < n; i++ {
		var m *C.ms_model
		if err := call(func() C.int { return C.ms_model_list_get(l, C.size_t(i), &m) }); err != nil {
			return nil, err
		}
		model, err := newModel(m, owner)
		if err != nil {
			return nil, err
		}
		models = append(models, model)
	}
	return models, nil
}

// Materialize extracts the model's archive once under rootDir and returns the folder.
func (r *Registry) Materialize(m *Model, rootDir string) (string, error) {
	croot := cString(rootDir)
	defer free(croot)
	buf := (*C.char)(C.malloc(8192))
	defer C.free(unsafe.Pointer(buf))
	err := r.with(func(p *C.ms_registry) C.int { return C.ms_registry_materialize(p, m.ptr, croot, buf, 8192) })
	runtime.KeepAlive(m)
	if err != nil {
		return "", err
	}
	return C.GoString(buf), nil
}

// UnusedKey is a key of the global config file that the registry does not apply.
type UnusedKey struct {
	Key, Value string
	Line       int64
}

// UnusedKeys lists the global config's keys the registry does not apply, in file order.
func (r *Registry) UnusedKeys() ([]UnusedKey, error) {
	var l *C.ms_key_list
	if err := r.with(func(p *C.ms_registry) C.int { return C.ms_registry_unused_keys(p, &l) }); err != nil {
		return nil, err
	}
	defer C.ms_key_list_free(l)
	var keys []UnusedKey
	n := int(C.ms_key_list_count(l))
	for i := 0; i < n; i++ {
		var k, v *C.char
		var line C.int64_t
		if err := call(func() C.int { return C.ms_key_list_get(l, C.size_t(i), &k, &v, &line) }); err != nil {
			return nil, err
		}
		keys = append(keys, UnusedKey{goString(k), goString(v), int64(line)})
	}
	return keys, nil
}

// Global is a top-level key of the global config file as written (ErrNotFound when absent).
func (r *Registry) Global(key string) (string, error) {
	ck := cString(key)
	defer free(ck)
	var v *C.char
	if err := r.with(func(p *C.ms_registry) C.int { return C.ms_registry_get_global(p, ck, &v) }); err != nil {
		return "", err
	}
	return goString(v), nil
}

func archiveCall(f func(path, cfg *C.char, out **C.ms_model) C.int, path, globalConfig string) (*Model, error) {
	cp, cc := cString(path), cStringOrNil(globalConfig)
	defer free(cp)
	defer free(cc)
	var out *C.ms_model
	if err := call(func() C.int { return f(cp, cc, &out) }); err != nil {
		return nil, err
	}
	return newModel(out, nil)
}

// InspectArchive reads an archive without a store: settings from it, the global config ("" : none) and defaults.
func InspectArchive(path, globalConfig string) (*Model, error) {
	return archiveCall(func(p, c *C.char, o **C.ms_model) C.int { return C.ms_archive_inspect(p, c, o) }, path,
		globalConfig)
}

// ValidateArchive is InspectArchive plus the check that every file the manifest names is there.
func ValidateArchive(path, globalConfig string) (*Model, error) {
	return archiveCall(func(p, c *C.char, o **C.ms_model) C.int { return C.ms_archive_validate(p, c, o) }, path,
		globalConfig)
}
