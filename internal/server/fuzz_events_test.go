package server

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// FuzzLastEventID: whatever a client sends as Last-Event-ID, resuming the event stream
// never panics, and a client gets every buffered batch of its project after the id it
// names exactly once, oldest first, through the replay and the live batches after it;
// or, when the id cannot be resumed from, nothing replayed and the stream continues
// from the head. Only a decimal id this hub issued, not older than the buffer, may be
// resumed from, and such an id always is.
//
// The hub is built from the input: n batches (project p or another project, by the
// bits of mix, so p's ids have gaps) in a buffer of size entries, numbered from 1000.
func FuzzLastEventID(f *testing.F) {
	for _, s := range []struct {
		last      string
		n, size   uint8
		mix       uint64
		cursorLag uint8
	}{
		{"1003", 10, 16, 0, 0}, {"1000", 10, 4, 0b1010, 0}, {"999", 5, 8, 0, 0}, {"1010", 10, 16, 0, 3},
		{"00001005", 12, 16, 0xff, 0}, {"+1005", 8, 8, 0, 0}, {" 1005", 8, 8, 0, 0}, {"1005\n\nevent: x", 8, 8, 0, 0},
		{"18446744073709551615", 3, 3, 0, 0}, {"18446744073709551616", 3, 3, 0, 0}, {"-1", 3, 3, 0, 0}, {"0x3ea", 3, 3, 0, 0},
		{"1e3", 3, 3, 0, 0}, {"", 3, 3, 0, 0}, {"1_005", 8, 8, 0, 0}, {"\u0661\u0660\u0660\u0665", 8, 8, 0, 0},
	} {
		f.Add(s.last, s.n, s.size, s.mix, s.cursorLag)
	}
	stage := haulv1.GroupVersion.WithKind("Stage")
	f.Fuzz(func(t *testing.T, last string, n, size uint8, mix uint64, cursorLag uint8) {
		n %= 65
		size = size%32 + 1
		h := newHub(int(size), logr.Discard())
		h.seq, h.start = 1000, 1000
		for i := range int(n) {
			project := "p"
			if mix&(1<<(i%64)) != 0 {
				project = "other"
			}
			h.record("upsert", stage, &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: fmt.Sprint(i)}})
			h.flush()
		}
		head, _ := h.head("p")
		// The cursor a handler read may lag behind the head: batches flushed between
		// its head() and resumeFrom() calls.
		cursor := head - min(uint64(cursorLag%4), head-h.start)
		h.mu.Lock()
		var buffered []batch // p's batches still in the ring
		var dropped uint64
		if st := h.streams["p"]; st != nil {
			buffered = append(buffered, st.ring...)
			dropped = st.dropped
		}
		h.mu.Unlock()

		replay, next, ok := h.resumeFrom("p", last, cursor)
		seq, perr := strconv.ParseUint(last, 10, 64)
		resumable := perr == nil && seq >= h.start && seq <= head && seq >= dropped
		if ok != resumable {
			t.Fatalf("Last-Event-ID %q (head %d, dropped %d): ok=%v, want %v", last, head, dropped, ok, resumable)
		}
		if !ok {
			if len(replay) != 0 || next != cursor {
				t.Fatalf("refused %q but replayed %d batches and continues from %d (cursor %d)", last, len(replay), next, cursor)
			}
			return
		}
		for _, r := range last {
			if r < '0' || r > '9' {
				t.Fatalf("resumed from %q, which is not a decimal id", last)
			}
		}
		if next < cursor {
			t.Fatalf("continues from %d, before the cursor %d", next, cursor)
		}
		// What the live loop sends next: everything after the point the replay stopped.
		live, ok := h.after("p", next)
		if !ok {
			t.Fatalf("the live loop cannot continue from %d", next)
		}
		got := append(append([]batch(nil), replay...), live...)
		var want []batch
		for _, b := range buffered {
			if b.seq > seq {
				want = append(want, b)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("resuming from %d: got %d batches (%d replayed), want the %d buffered after it", seq, len(got), len(replay), len(want))
		}
		for i := range got {
			if got[i].seq != want[i].seq {
				t.Fatalf("resuming from %d: batch %d is %d, want %d", seq, i, got[i].seq, want[i].seq)
			}
			if got[i].seq > next && i < len(replay) {
				t.Fatalf("replayed %d, past the point %d it continues from", got[i].seq, next)
			}
		}
	})
}
