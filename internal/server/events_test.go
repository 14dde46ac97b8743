package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	id, event, data string
	// at is when the event was read off the wire.
	at time.Time
}

// changesOf decodes a "changes" event.
func (e sseEvent) changes(t testing.TB) []map[string]any {
	var b struct {
		Changes []map[string]any `json:"changes"`
	}
	if err := json.Unmarshal([]byte(e.data), &b); err != nil {
		t.Fatalf("event data %q: %v", e.data, err)
	}
	return b.Changes
}

// subscribe opens a project's event stream and delivers its events on a channel until
// the test ends.
func subscribe(tb testing.TB, project, token, lastEventID string) <-chan sseEvent {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return subscribeCtx(ctx, tb, project, token, lastEventID)
}

// subscribeCtx is subscribe until ctx ends.
func subscribeCtx(ctx context.Context, tb testing.TB, project, token, lastEventID string) <-chan sseEvent {
	tb.Helper()
	ts, _ := startServer(tb)
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/projects/"+project+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := ts.Client().Do(req) //nolint:bodyclose // the reader goroutine closes it
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("subscribing: status %d", resp.StatusCode)
	}
	out := make(chan sseEvent, 4096)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.id != "" || ev.event != "" || ev.data != "" {
					ev.at = time.Now()
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out
}

// waitFor returns the first event for which match is true, failing after timeout.
func waitFor(tb testing.TB, ch <-chan sseEvent, timeout time.Duration, match func(sseEvent) bool) sseEvent {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				tb.Fatal("event stream closed")
			}
			if match(ev) {
				return ev
			}
		case <-deadline:
			tb.Fatalf("no matching event within %s", timeout)
		}
	}
}

// hasChange matches a changes event naming kind/name.
func hasChange(t testing.TB, kind, name string) func(sseEvent) bool {
	return func(ev sseEvent) bool {
		if ev.event != "changes" {
			return false
		}
		for _, c := range ev.changes(t) {
			if c["kind"] == kind && c["name"] == name {
				return true
			}
		}
		return false
	}
}

func annotateStage(t *testing.T, p, name, value string) {
	t.Helper()
	patch := []byte(`{"metadata":{"annotations":{"test/touch":"` + value + `"}}}`)
	must(t, env.Client.Patch(context.Background(), &haulv1.Stage{ObjectMeta: metaName(p, name)}, client.RawPatch(types.MergePatchType, patch)))
}

// TestEventsLiveAndResume checks a Stage update reaches a subscriber within a second,
// and that a client resuming with Last-Event-ID gets what it missed.
func TestEventsLiveAndResume(t *testing.T) {
	startServer(t)
	newProject(t, "ev")
	createYAML(t, pipelineYAML("ev"))
	viewer := idToken(t, "viewer@ev.test")

	ch := subscribe(t, "ev", viewer, "")
	time.Sleep(200 * time.Millisecond) // let the subscription register before the change
	start := time.Now()
	annotateStage(t, "ev", "test", "one")
	ev := waitFor(t, ch, 10*time.Second, hasChange(t, "Stage", "test"))
	if lag := time.Since(start); lag > time.Second {
		t.Errorf("Stage update arrived after %s, want within 1s", lag)
	}
	for _, c := range ev.changes(t) {
		if c["name"] == "test" {
			obj, _ := c["object"].(map[string]any)
			if c["type"] != "upsert" || obj["kind"] != "Stage" || obj["apiVersion"] != "haul.dev/v1alpha1" {
				t.Fatalf("change %v lacks type upsert or the object's apiVersion/kind", c)
			}
		}
	}
	if ev.id == "" {
		t.Fatal("event has no id")
	}

	// While nobody listens: a Freight appears and the uat Stage is deleted.
	newFreight(t, "ev", "f9999999999999999999999999999999999999999", "missed", "9.9.9")
	must(t, env.Client.Delete(context.Background(), &haulv1.Stage{ObjectMeta: metaName("ev", "uat")}))
	// Let those changes be flushed before resuming.
	time.Sleep(500 * time.Millisecond)

	resumed := subscribe(t, "ev", viewer, ev.id)
	var sawFreight, sawDelete bool
	waitFor(t, resumed, 10*time.Second, func(e sseEvent) bool {
		if e.event != "changes" {
			return false
		}
		for _, c := range e.changes(t) {
			switch {
			case c["kind"] == "Freight" && c["name"] == "f9999999999999999999999999999999999999999":
				sawFreight = true
			case c["kind"] == "Stage" && c["name"] == "uat" && c["type"] == "delete":
				sawDelete = true
			}
		}
		return sawFreight && sawDelete
	})

	// An ID from before this server started (or trimmed away) asks the client to refetch.
	reset := subscribe(t, "ev", viewer, "1")
	waitFor(t, reset, 10*time.Second, func(e sseEvent) bool { return e.event == "reset" })
}

// TestEventsResumeFromConnect checks a client that saw no change yet can still resume
// from where it connected, with the id sent on connect.
func TestEventsResumeFromConnect(t *testing.T) {
	startServer(t)
	newProject(t, "ev2")
	createYAML(t, pipelineYAML("ev2"))
	viewer := idToken(t, "viewer@ev2.test")
	ctx, cancel := context.WithCancel(context.Background())
	ch := subscribeCtx(ctx, t, "ev2", viewer, "")
	first := waitFor(t, ch, 10*time.Second, func(e sseEvent) bool { return e.id != "" })
	if first.event != "" || first.data != "" {
		t.Fatalf("first message %+v, want only an id", first)
	}
	cancel()
	annotateStage(t, "ev2", "uat", "while-away")
	resumed := subscribe(t, "ev2", viewer, first.id)
	waitFor(t, resumed, 10*time.Second, hasChange(t, "Stage", "uat"))
}
