package mserve

/*
#include <stdlib.h>
#include <mserve.h>
extern void gomserveLog(int level, char *message, void *user);
static void gomserve_log(int level, const char *message, void *user) { gomserveLog(level, (char *)message, user); }
static int gomserve_set_log(uintptr_t user, int level) {
  return ms_set_log(user ? gomserve_log : NULL, level, (void *)user);
}
*/
import "C"

import (
	"runtime/cgo"
	"sync"
)

// Level is a log level.
type Level int32

// Log levels.
const (
	LogDebug Level = C.MS_LOG_DEBUG
	LogInfo  Level = C.MS_LOG_INFO
	LogWarn  Level = C.MS_LOG_WARN
	LogError Level = C.MS_LOG_ERROR
	LogOff   Level = C.MS_LOG_OFF
)

// Every function ever installed keeps its handle: C may call the one it
// replaced once more on another thread (common.h), so none is deleted.
var (
	logMu      sync.Mutex
	logHandles []cgo.Handle
)

// SetLog sends the library's messages of level and above to fn (nil: silence).
// fn runs on the goroutine whose call logs; it must not call into mserve.
func SetLog(fn func(level Level, message string), level Level) error {
	logMu.Lock()
	defer logMu.Unlock()
	var h cgo.Handle
	if fn != nil {
		h = cgo.NewHandle(fn)
		logHandles = append(logHandles, h)
	}
	return call(func() C.int { return C.gomserve_set_log(C.uintptr_t(h), C.int(level)) })
}
