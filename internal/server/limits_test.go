package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// shortLimits are the timeouts the slow-client tests inject.
var shortLimits = Limits{
	ReadHeaderTimeout: 500 * time.Millisecond,
	ReadTimeout:       time.Second,
	WriteTimeout:      time.Second,
	IdleTimeout:       time.Second,
}

// serveWithLimits serves the shared API handler from an http.Server built by
// Limits.HTTPServer with short timeouts, and returns its address.
func serveWithLimits(t *testing.T, l Limits) string {
	t.Helper()
	ts, _ := startServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := l.HTTPServer(ts.Config.Handler)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// waitForClose reads from conn until the server closes it and returns how long that
// took, failing the test if the connection is still open after limit.
func waitForClose(t *testing.T, conn net.Conn, r io.Reader, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(limit))
	buf := make([]byte, 4096)
	for {
		_, err := r.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the server kept the connection open for %s", limit)
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("reading until the server closes: %v", err)
		}
		return time.Since(start)
	}
}

// trickle writes chunk to conn every interval until the connection fails or stop is
// closed; a client that does this forever is a slow-loris attack.
func trickle(conn net.Conn, chunk func(i int) string, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := io.WriteString(conn, chunk(i)); err != nil {
			return
		}
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// TestSlowHeadersAreCutOff sends request headers one line every 100ms, forever: the
// server closes the connection once ReadHeaderTimeout has passed.
func TestSlowHeadersAreCutOff(t *testing.T) {
	addr := serveWithLimits(t, shortLimits)
	conn := dial(t, addr)
	stop := make(chan struct{})
	defer close(stop)
	if _, err := io.WriteString(conn, "GET /api/v1/whoami HTTP/1.1\r\nHost: haul\r\n"); err != nil {
		t.Fatal(err)
	}
	go trickle(conn, func(i int) string { return fmt.Sprintf("X-Slow-%d: 1\r\n", i) }, stop)
	if took := waitForClose(t, conn, conn, 15*time.Second); took < shortLimits.ReadHeaderTimeout/2 {
		t.Fatalf("connection closed after %s, before the header timeout", took)
	}
}

// TestSlowApplyBodyIsCutOff announces a large apply body and sends it a byte every
// 100ms: the server gives up once ReadTimeout has passed and closes the connection.
func TestSlowApplyBodyIsCutOff(t *testing.T) {
	addr := serveWithLimits(t, shortLimits)
	conn := dial(t, addr)
	stop := make(chan struct{})
	defer close(stop)
	head := "POST /api/v1/apply HTTP/1.1\r\nHost: haul\r\nAuthorization: Bearer " + testAdminToken +
		"\r\nContent-Type: application/yaml\r\nContent-Length: 100000\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	go trickle(conn, func(int) string { return "#" }, stop)
	waitForClose(t, conn, conn, 15*time.Second)
}

// TestIdleKeepAliveIsClosed makes one request on a keep-alive connection and then sends
// nothing: the server closes the connection after IdleTimeout.
func TestIdleKeepAliveIsClosed(t *testing.T) {
	addr := serveWithLimits(t, shortLimits)
	conn := dial(t, addr)
	req := "GET /api/v1/whoami HTTP/1.1\r\nHost: haul\r\nAuthorization: Bearer " + testAdminToken + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("first request: %d (close %v) %s", resp.StatusCode, resp.Close, b)
	}
	waitForClose(t, conn, br, 15*time.Second)
}

// TestEventStreamOutlivesWriteTimeout keeps an event stream open past the server's
// read and write timeouts and checks a change made afterwards still arrives on it.
func TestEventStreamOutlivesWriteTimeout(t *testing.T) {
	addr := serveWithLimits(t, shortLimits)
	newProject(t, "sse-limits")
	createYAML(t, pipelineYAML("sse-limits"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/v1/projects/sse-limits/events", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed by the deferred Close below
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribing: %d", resp.StatusCode)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// Outlast both timeouts before anything changes.
	time.Sleep(3 * shortLimits.WriteTimeout)
	must(t, env.Client.Patch(context.Background(), &haulv1.Stage{ObjectMeta: metaName("sse-limits", "test")},
		client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"limits-test":"changed"}}}`))))
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the server ended the event stream")
			}
			if l == "event: changes" {
				return
			}
		case <-deadline:
			t.Fatal("no change arrived on the event stream within 30s")
		}
	}
}

// TestBodyLimits sends bodies over each route's cap and checks the 413 names the limit;
// apply takes a larger body than the other routes.
func TestBodyLimits(t *testing.T) {
	startServer(t)
	big := `{"stage":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	code, b := call(t, "POST", "/api/v1/projects/alpha/freight/f/approve", testAdminToken, "application/json", big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), fmt.Sprintf("request body is larger than the limit of %d bytes", DefaultMaxBodyBytes)) {
		t.Fatalf("approve with a %d-byte body: %d %.200s", len(big), code, b)
	}
	// Twice the usual cap is still within apply's: it fails for its content, not its size.
	comment := strings.Repeat("# padding\n", 2*DefaultMaxBodyBytes/10)
	code, b = call(t, "POST", "/api/v1/apply", testAdminToken, "application/yaml", comment+"apiVersion: example.com/v1\nkind: Nothing\nmetadata: {name: x}\n")
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "unknown apiVersion/kind") {
		t.Fatalf("apply of a 2 MiB body: %d %.300s", code, b)
	}
	code, b = call(t, "POST", "/api/v1/apply", testAdminToken, "application/yaml", strings.Repeat("# padding\n", DefaultMaxApplyBytes/10+1))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), fmt.Sprintf("apply body is larger than the limit of %d bytes", DefaultMaxApplyBytes)) {
		t.Fatalf("apply over its cap: %d %.200s", code, b)
	}
}
