package webhook

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/haul-dev/haul/internal/server"
)

// slowLimits are short versions of the timeouts Haul's HTTP server (internal/app,
// server.Limits) serves the receivers with.
var slowLimits = server.Limits{
	ReadHeaderTimeout: 500 * time.Millisecond,
	ReadTimeout:       time.Second,
	WriteTimeout:      2 * time.Second,
	IdleTimeout:       time.Second,
}

// TestSlowLorisOnReceiversIsCutOff (scenario 39): twenty connections trickle a
// receiver request a byte or a header line every 100ms, half in the headers, half in
// a correctly signed body. Each is closed within the configured timeouts (never before
// the header timeout could have passed, never long after the read timeout), the
// trickled body triggers no refresh, and a legitimate delivery sent meanwhile is
// served at once and refreshes its Warehouse.
func TestSlowLorisOnReceiversIsCutOff(t *testing.T) {
	const p = "hooks-slow"
	setup(t, p)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := slowLimits.HTTPServer(NewHandler(env.Client))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()
	url := "http://" + addr + "/webhooks/" + p + "/gh"

	push := []byte(`{"ref":"refs/heads/main","repository":{"html_url":"https://github.com/acme/app","clone_url":"https://github.com/acme/app.git"}}`)
	before := refreshValue(t, p, "git")

	stop := make(chan struct{})
	defer close(stop)
	type closed struct {
		kind string
		took time.Duration
		err  error
	}
	results := make(chan closed, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		kind, head, chunk := "headers", "POST /webhooks/"+p+"/gh HTTP/1.1\r\nHost: haul\r\n", func(n int) string { return fmt.Sprintf("X-Slow-%d: 1\r\n", n) }
		if i%2 == 1 {
			kind = "body"
			head = "POST /webhooks/" + p + "/gh HTTP/1.1\r\nHost: haul\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: " + sign(push) +
				fmt.Sprintf("\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(push))
			chunk = func(n int) string { return string(push[n%len(push)]) }
		}
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		wg.Add(2)
		go func() { defer wg.Done(); trickleTo(conn, chunk, stop) }()
		go func() {
			defer wg.Done()
			err := readUntilClosed(conn, 15*time.Second)
			results <- closed{kind, time.Since(start), err}
		}()
	}

	// While the twenty are held open, a legitimate delivery is served promptly.
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	code, body := post(t, url, push, map[string]string{"X-Hub-Signature-256": sign(push), "X-GitHub-Event": "push"})
	if code != 200 || time.Since(start) > 2*time.Second {
		t.Fatalf("a legitimate delivery during the attack: %d %s after %s", code, body, time.Since(start))
	}
	served := refreshValue(t, p, "git")
	if served == before {
		t.Fatal("the legitimate delivery did not refresh the Warehouse")
	}

	for range 20 {
		c := <-results
		if c.err != nil {
			t.Fatalf("%s trickle: %v", c.kind, c.err)
		}
		// Cut by ReadHeaderTimeout (headers) or ReadTimeout (body); allow for a
		// loaded machine, but not for a server without timeouts.
		if c.took < slowLimits.ReadHeaderTimeout/2 || c.took > slowLimits.ReadTimeout+5*time.Second {
			t.Errorf("%s trickle closed after %s, want within the read timeouts (%s, %s)", c.kind, c.took, slowLimits.ReadHeaderTimeout, slowLimits.ReadTimeout)
		}
	}
	if got := refreshValue(t, p, "git"); got != served {
		t.Fatalf("a trickled body refreshed the Warehouse (%q, after the legitimate delivery %q)", got, served)
	}
}

// trickleTo writes chunk(n) to conn every 100ms until the write fails or stop closes.
func trickleTo(conn net.Conn, chunk func(n int) string, stop <-chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := io.WriteString(conn, chunk(n)); err != nil {
			return
		}
	}
}

// readUntilClosed reads what the server sends until it closes the connection; an
// error says it was still open after limit.
func readUntilClosed(conn net.Conn, limit time.Duration) error {
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	var got strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		got.Write(buf[:n])
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("the server kept the connection open for %s (it sent %q)", limit, got.String())
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil
		}
		return err
	}
}
