package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

const (
	// flushInterval is the longest a change waits before it is sent.
	flushInterval = 100 * time.Millisecond
	// defaultEventBuffer is how many batches per project are kept for resuming clients.
	defaultEventBuffer = 1024
	// maxBufferBytes bounds the memory of one project's buffer.
	maxBufferBytes = 64 << 20
	// deletedProjectGrace is how long a deleted project's buffer is kept, so clients
	// that reconnect still receive its last changes, before its memory is freed.
	deletedProjectGrace = time.Minute
)

// change is one object's new state (or its deletion) in an event batch.
type change struct {
	Type   string        `json:"type"`
	Kind   string        `json:"kind"`
	Name   string        `json:"name"`
	Object client.Object `json:"object,omitempty"`
}

// batch is one SSE message: changes of one project collected over one flush interval.
type batch struct {
	seq  uint64
	data []byte
}

// stream is one project's pending changes and recent batches.
type stream struct {
	pending []change
	index   map[string]int
	ring    []batch
	bytes   int
	// dropped is the highest seq trimmed from ring; a client behind it missed changes.
	dropped uint64
	// notify is closed, and replaced, when a batch is added.
	notify chan struct{}
	// deleted is when the Project was deleted (zero while it exists).
	deleted time.Time
}

// hub turns informer events of the shared cache into per-project batches. One
// informer per kind serves every client, so the API server load does not grow with
// the number of open dashboards.
type hub struct {
	log  logr.Logger
	size int

	mu      sync.Mutex
	seq     uint64
	start   uint64
	streams map[string]*stream
	now     func() time.Time
}

func newHub(size int, log logr.Logger) *hub {
	if size <= 0 {
		size = defaultEventBuffer
	}
	// Sequence numbers continue from the clock so that an ID from before a restart is
	// always older than any new one and resumes with a reset instead of silence.
	start := uint64(time.Now().UnixMicro())
	return &hub{log: log, size: size, seq: start, start: start, streams: map[string]*stream{}, now: time.Now}
}

// watchedKinds are the objects whose changes are streamed.
var watchedKinds = []client.Object{
	&haulv1.Project{}, &haulv1.Warehouse{}, &haulv1.Stage{}, &haulv1.Freight{}, &haulv1.Promotion{},
}

// watch registers the hub's handlers on the cache's informers; call before starting it.
func (h *hub) watch(ctx context.Context, c cache.Cache, gvkFor func(runtime.Object) schema.GroupVersionKind) error {
	for _, obj := range watchedKinds {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("getting informer for %T: %w", obj, err)
		}
		gvk := gvkFor(obj)
		_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(o any, initial bool) {
				if !initial {
					h.record("upsert", gvk, o)
				}
			},
			UpdateFunc: func(_, o any) { h.record("upsert", gvk, o) },
			DeleteFunc: func(o any) {
				if t, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
					o = t.Obj
				}
				h.record("delete", gvk, o)
			},
		})
		if err != nil {
			return fmt.Errorf("watching %s: %w", gvk.Kind, err)
		}
	}
	return nil
}

// record queues a change for the next flush, replacing an earlier change of the same
// object in the same interval.
func (h *hub) record(typ string, gvk schema.GroupVersionKind, o any) {
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	project := obj.GetNamespace()
	if gvk.Kind == "Project" {
		project = obj.GetName()
	}
	if project == "" {
		return
	}
	ch := change{Type: typ, Kind: gvk.Kind, Name: obj.GetName()}
	if typ == "upsert" {
		cp := obj.DeepCopyObject().(client.Object)
		cp.GetObjectKind().SetGroupVersionKind(gvk)
		ch.Object = cp
	}
	key := gvk.Kind + "/" + ch.Name
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.streamLocked(project)
	if gvk.Kind == "Project" {
		if typ == "delete" {
			st.deleted = h.now()
		} else {
			st.deleted = time.Time{}
		}
	}
	if i, ok := st.index[key]; ok {
		st.pending[i] = ch
		return
	}
	st.index[key] = len(st.pending)
	st.pending = append(st.pending, ch)
}

func (h *hub) streamLocked(project string) *stream {
	st, ok := h.streams[project]
	if !ok {
		st = &stream{index: map[string]int{}, notify: make(chan struct{})}
		h.streams[project] = st
	}
	return st
}

// run flushes pending changes every flushInterval until ctx ends.
func (h *hub) run(ctx context.Context) {
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.flush()
		}
	}
}

// flush turns each project's pending changes into one numbered batch.
func (h *hub) flush() {
	h.mu.Lock()
	type work struct {
		st      *stream
		changes []change
	}
	var todo []work
	now := h.now()
	for project, st := range h.streams {
		if len(st.pending) > 0 {
			todo = append(todo, work{st, st.pending})
			st.pending, st.index = nil, map[string]int{}
			continue
		}
		if !st.deleted.IsZero() && now.Sub(st.deleted) > deletedProjectGrace {
			// Free the buffer; clients still waiting wake up and find the project's
			// new (empty) stream, so a recreated project streams again.
			delete(h.streams, project)
			close(st.notify)
		}
	}
	h.mu.Unlock()
	for _, w := range todo {
		data, err := json.Marshal(map[string]any{"changes": w.changes})
		if err != nil {
			h.log.Error(err, "Cannot encode change batch")
			continue
		}
		h.mu.Lock()
		h.seq++
		w.st.ring = append(w.st.ring, batch{seq: h.seq, data: data})
		w.st.bytes += len(data)
		for len(w.st.ring) > h.size || (w.st.bytes > maxBufferBytes && len(w.st.ring) > 1) {
			w.st.dropped = w.st.ring[0].seq
			w.st.bytes -= len(w.st.ring[0].data)
			w.st.ring[0] = batch{}
			w.st.ring = w.st.ring[1:]
		}
		close(w.st.notify)
		w.st.notify = make(chan struct{})
		h.mu.Unlock()
	}
}

// head returns the newest sequence number and the channel closed at the next batch.
func (h *hub) head(project string) (uint64, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq, h.streamLocked(project).notify
}

// after returns the project's batches newer than seq. ok is false when some were
// already dropped, or seq is not one this process issued: the client must refetch.
func (h *hub) after(project string, seq uint64) (out []batch, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.streamLocked(project)
	if seq < h.start || seq > h.seq || seq < st.dropped {
		return nil, false
	}
	for i := len(st.ring) - 1; i >= 0 && st.ring[i].seq > seq; i-- {
		out = append(out, st.ring[i])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, true
}

// resumeFrom is what a client whose Last-Event-ID is last gets before live batches,
// given cursor, the head it read before: the buffered batches after last up to the
// cursor, oldest first, and the cursor live batches continue from. ok is false when
// last cannot be resumed from: not a decimal id (ids are written as %d, so anything
// else was never one), not issued by this process, or older than the buffer. The
// client is then told to refetch and continues from cursor.
func (h *hub) resumeFrom(project, last string, cursor uint64) (replay []batch, next uint64, ok bool) {
	seq, err := strconv.ParseUint(last, 10, 64)
	if err != nil {
		return nil, cursor, false
	}
	backlog, ok := h.after(project, seq)
	if !ok {
		return nil, cursor, false
	}
	next = max(cursor, seq)
	for _, b := range backlog {
		if b.seq > next {
			break
		}
		replay = append(replay, b)
	}
	return replay, next, true
}
