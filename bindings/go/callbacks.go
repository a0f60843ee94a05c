package mserve

// The Go functions C calls back. A file with //export may only declare in its
// preamble, so they live here, apart from the C shims that call them.

/*
#include <stdint.h>
#include <mserve.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"unsafe"
)

//export gomserveHandler
func gomserveHandler(user unsafe.Pointer, input *C.float, rows, inDim C.int64_t, output *C.float,
	outDim C.int64_t) (status C.int) {
	st := cgo.Handle(uintptr(user)).Value().(*handlerState)
	defer func() {
		if r := recover(); r != nil {
			st.failed = fmt.Errorf("mserve: executor handler panicked: %v", r)
			status = C.int(EInternal)
		}
	}()
	in := unsafe.Slice((*float32)(unsafe.Pointer(input)), int(rows*inDim))
	out := unsafe.Slice((*float32)(unsafe.Pointer(output)), int(rows*outDim))
	if err := st.fn(in, int(rows), out); err != nil {
		st.failed = err
		var e *Error
		if errors.As(err, &e) {
			return C.int(e.Status)
		}
		return C.int(EInternal)
	}
	return 0
}

//export gomserveLog
func gomserveLog(level C.int, message *C.char, user unsafe.Pointer) {
	cgo.Handle(uintptr(user)).Value().(func(Level, string))(Level(level), C.GoString(message))
}
