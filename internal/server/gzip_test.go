package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestLargeListsAreGzipped: a list of Freight big enough to matter comes gzipped to a
// client that accepts it, decodes to the same items as the plain answer, and small
// answers and clients that refuse gzip get plain JSON.
func TestLargeListsAreGzipped(t *testing.T) {
	p := "gzip-lists"
	newProject(t, p)
	for i := range 60 {
		newFreight(t, p, fmt.Sprintf("%040x", i+1), fmt.Sprintf("alias-%d", i), fmt.Sprintf("1.0.%d", i))
	}
	ts, _ := startServer(t)
	get := func(path, acceptEncoding string) (http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		req.Header.Set("Accept-Encoding", acceptEncoding) // set by hand: no transparent decoding
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header, b
	}
	count := func(b []byte) int {
		t.Helper()
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("not a JSON list: %v", err)
		}
		return len(l.Items)
	}

	// The server lists from its cache, which may not have seen the last creates yet.
	var h http.Header
	var plain []byte
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if h, plain = get("/api/v1/projects/"+p+"/freight", "identity"); count(plain) == 60 || time.Now().After(deadline) {
			break
		}
	}
	if h.Get("Content-Encoding") != "" || count(plain) != 60 {
		t.Fatalf("identity: Content-Encoding %q, %d items", h.Get("Content-Encoding"), count(plain))
	}
	h, zipped := get("/api/v1/projects/"+p+"/freight", "br, gzip;q=0.8")
	if h.Get("Content-Encoding") != "gzip" {
		t.Fatalf("a %d-byte list was not gzipped (Content-Encoding %q)", len(plain), h.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if count(unzipped) != 60 || len(zipped)*4 > len(unzipped) {
		t.Fatalf("gzipped list: %d items, %d bytes for %d", count(unzipped), len(zipped), len(unzipped))
	}
	t.Logf("60 Freight: %d bytes gzipped, %d plain", len(zipped), len(unzipped))
	if h, _ := get("/api/v1/projects/"+p+"/freight", "gzip;q=0"); h.Get("Content-Encoding") != "" {
		t.Fatal("gzip sent to a client that refused it with q=0")
	}
	if h, _ := get("/api/v1/whoami", "gzip"); h.Get("Content-Encoding") != "" {
		t.Fatal("a small answer was gzipped")
	}
}
