package mserve

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestHandlerExecutorRunsAGoFunction(t *testing.T) {
	calls := 0
	ex, err := OpenHandlerExecutor(func(in []float32, rows int, out []float32) error {
		calls++
		for r := 0; r < rows; r++ {
			out[2*r] = in[3*r] + in[3*r+1]
			out[2*r+1] = 2 * in[3*r+2]
		}
		return nil
	}, 3, 2)
	must(t, err)
	defer ex.Close()
	if ex.Device() != "host" {
		t.Fatalf("device %q", ex.Device())
	}
	if i, o, _ := ex.Dims(); i != 3 || o != 2 {
		t.Fatalf("dims %d %d", i, o)
	}
	out, err := ex.Run([]float32{1, 2, 3, 4, 5, 6}, 2)
	must(t, err)
	if len(out) != 4 || out[0] != 3 || out[1] != 6 || out[2] != 9 || out[3] != 12 || calls != 1 {
		t.Fatalf("out %v after %d calls", out, calls)
	}
	if _, err := ex.Run([]float32{1, 2}, 1); !errors.Is(err, ErrInval) {
		t.Fatalf("short input: %v", err)
	}
	must(t, ex.SetMaxBatch(1))
	if n, _ := ex.MaxBatch(); n != 1 {
		t.Fatalf("max batch %d", n)
	}
	if _, err := ex.Run([]float32{1, 2, 3, 4, 5, 6}, 2); !errors.Is(err, ErrInval) {
		t.Fatalf("over the max batch: %v", err)
	}
	must(t, ex.SetThreads(1))
	ex.Close()
	if _, err := ex.Run([]float32{1, 2, 3}, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("run after close: %v", err)
	}
}

func TestFailingHandlers(t *testing.T) {
	boom := errors.New("boom")
	ex, err := OpenHandlerExecutor(func([]float32, int, []float32) error { return boom }, 1, 1)
	must(t, err)
	defer ex.Close()
	_, err = ex.Run([]float32{1}, 1)
	if !errors.Is(err, ErrInternal) || !errors.Is(err, boom) || !strings.Contains(err.Error(), "handler returned") {
		t.Fatalf("a Go error: %v", err)
	}
	busy, err := OpenHandlerExecutor(func([]float32, int, []float32) error { return ErrBusy }, 1, 1)
	must(t, err)
	defer busy.Close()
	if _, err := busy.Run([]float32{1}, 1); !errors.Is(err, ErrBusy) {
		t.Fatalf("a status: %v", err)
	}
	panics, err := OpenHandlerExecutor(func([]float32, int, []float32) error { panic("no") }, 1, 1)
	must(t, err)
	defer panics.Close()
	if _, err := panics.Run([]float32{1}, 1); !errors.Is(err, ErrInternal) {
		t.Fatalf("a panic: %v", err)
	}
}

func TestCPUMLPMatchesTheReference(t *testing.T) {
	w := [][]float32{{1, -2, 0.5}, {0.25, 1, -1}}
	b := []float32{0.5, -0.5}
	dir := writeMLP(t, filepath.Join(t.TempDir(), "mlp"), w, b, "none")
	ex, err := OpenExecutor(dir, "cpu")
	must(t, err)
	defer ex.Close()
	if ex.Device() != "cpu" {
		t.Fatalf("device %q", ex.Device())
	}
	in := []float32{1, 2, 3, -1, 0.5, 4}
	out, err := ex.Run(in, 2)
	must(t, err)
	for r := 0; r < 2; r++ {
		for o := 0; o < 2; o++ {
			want := float64(b[o])
			for i := 0; i < 3; i++ {
				want += float64(w[o][i]) * float64(in[3*r+i])
			}
			if math.Abs(float64(out[2*r+o])-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Fatalf("out[%d][%d] = %v, want %v", r, o, out[2*r+o], want)
			}
		}
	}
	if _, err := OpenExecutor(filepath.Join(t.TempDir(), "absent"), "cpu"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent model: %v", err)
	}
	_ = CUDAAvailable(0) // either answer is fine; it must not fail
}

func TestSetLogReceivesWarnings(t *testing.T) {
	var got []string
	must(t, SetLog(func(level Level, msg string) {
		if level == LogWarn {
			got = append(got, msg)
		}
	}, LogWarn))
	defer SetLog(nil, LogOff)
	reg, err := openStore(t).Registry("")
	must(t, err)
	_, err = reg.Register(writeMar(t, t.TempDir()+"/w.mar", "w", "1.0", "minWorkers: 3\nmaxWorkers: 1\n"), nil)
	must(t, err)
	must(t, SetLog(nil, LogOff))
	if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "min_workers") {
		t.Fatalf("log lines %q", got)
	}
}
