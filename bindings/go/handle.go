package mserve

import (
	"sync"
	"unsafe"
)

// handle owns one C pointer. Calls hold it shared (use/done) and Close holds
// it exclusively, so a Close waits for calls in flight and a call after Close
// gets ErrClosed instead of a freed pointer. Children (a tracker of a store)
// are closed before their parent, as the C side requires. The user-facing
// object (Store, Tracker, ...) points at its handle and carries the finalizer;
// a parent's handle points at its children's handles, never at the objects, so
// a forgotten child is still collected and finalized.
type handle struct {
	mu       sync.RWMutex
	p        unsafe.Pointer
	free     func(unsafe.Pointer)
	kind     string
	parent   *handle
	childMu  sync.Mutex
	children map[*handle]struct{}
}

func newHandle(p unsafe.Pointer, free func(unsafe.Pointer), kind string, parent *handle) *handle {
	h := &handle{p: p, free: free, kind: kind, parent: parent}
	if parent != nil {
		parent.childMu.Lock()
		if parent.children == nil {
			parent.children = map[*handle]struct{}{}
		}
		parent.children[h] = struct{}{}
		parent.childMu.Unlock()
	}
	return h
}

// use returns the pointer, held until done; ErrClosed when closed.
func (h *handle) use() (unsafe.Pointer, error) {
	h.mu.RLock()
	if h.p == nil {
		h.mu.RUnlock()
		return nil, closedError(h.kind)
	}
	return h.p, nil
}

func (h *handle) done() { h.mu.RUnlock() }

// close frees the children, then the pointer; idempotent.
func (h *handle) close() { h.end(true) }

// forget marks the handle closed without freeing it (C freed it: a commit).
// The caller holds no use() of it.
func (h *handle) forget() { h.end(false) }

func (h *handle) end(free bool) {
	h.mu.Lock()
	if h.p == nil {
		h.mu.Unlock()
		return
	}
	h.childMu.Lock()
	kids := make([]*handle, 0, len(h.children))
	for c := range h.children {
		kids = append(kids, c)
	}
	h.childMu.Unlock()
	for _, c := range kids {
		c.close()
	}
	if free {
		h.free(h.p)
	}
	h.p = nil
	h.mu.Unlock()
	if h.parent != nil {
		h.parent.childMu.Lock()
		delete(h.parent.children, h)
		h.parent.childMu.Unlock()
	}
}

// take hands the pointer over to a C call that frees it (a commit), once no
// call on it is in flight; the handle is closed from then on.
func (h *handle) take() (unsafe.Pointer, error) {
	h.mu.Lock()
	p := h.p
	h.p = nil
	h.mu.Unlock()
	if p == nil {
		return nil, closedError(h.kind)
	}
	if h.parent != nil {
		h.parent.childMu.Lock()
		delete(h.parent.children, h)
		h.parent.childMu.Unlock()
	}
	return p, nil
}
