package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/haul-dev/haul/internal/server/auth"
)

const (
	// heartbeatInterval keeps proxies from closing an idle stream.
	heartbeatInterval = 15 * time.Second
	// writeTimeout drops a client that stops reading.
	writeTimeout = 30 * time.Second
)

// streamedResources must all be readable for a client to receive a project's stream.
var streamedResources = []string{"stages", "freights", "promotions", "warehouses"}

// events streams a project's changes as server-sent events. Each message carries the
// batch's sequence number as its id; a client reconnecting with Last-Event-ID gets what
// it missed, or "event: reset" when that is no longer buffered.
func (s *Server) events(w http.ResponseWriter, r *http.Request, u *auth.User) {
	ctx, p := r.Context(), r.PathValue("p")
	if _, err := s.project(ctx, u, p); err != nil {
		writeError(w, err)
		return
	}
	for _, res := range streamedResources {
		if err := s.access.check(ctx, u, "watch", res, "", p, "", "Project", p, "watch "+res); err != nil {
			writeError(w, err)
			return
		}
	}
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("lastEventId")
	}
	rc := http.NewResponseController(w)
	// The stream outlives the server's read and write timeouts: lift both for this
	// connection and bound each message with its own write deadline instead.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	send := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil { //nolint:gosec // G705: text/event-stream of JSON the server encodes
			return false
		}
		return rc.Flush() == nil
	}
	reset := func() bool { return send("event: reset\ndata: {}\n\n") }

	cursor, notify := s.hub.head(p)
	if !send("retry: 2000\n: connected\n\n") {
		return
	}
	if last == "" {
		// An id without data is not an event, but it gives the client a point to
		// resume from even if it disconnects before the first change.
		if !send("id: %d\n\n", cursor) {
			return
		}
	} else {
		replay, next, ok := s.hub.resumeFrom(p, last, cursor)
		if !ok {
			if !reset() {
				return
			}
		}
		cursor = next
		for _, b := range replay {
			if !send("id: %d\nevent: changes\ndata: %s\n\n", b.seq, b.data) {
				return
			}
		}
	}
	beat := time.NewTicker(heartbeatInterval)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			// The server is shutting down; the client reconnects and resumes.
			return
		case <-beat.C:
			if !send(": heartbeat\n\n") {
				return
			}
		case <-notify:
			// Take the next channel before reading, so a batch added in between
			// wakes this loop again instead of being missed.
			head, next := s.hub.head(p)
			notify = next
			batches, ok := s.hub.after(p, cursor)
			if !ok {
				if !reset() {
					return
				}
				cursor = head
				continue
			}
			for _, b := range batches {
				if !send("id: %d\nevent: changes\ndata: %s\n\n", b.seq, b.data) {
					return
				}
				cursor = b.seq
			}
		}
	}
}
