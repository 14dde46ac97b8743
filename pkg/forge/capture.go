package forge

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// messageCapture keeps the status and the "message" of the last error response a
// client received, for clients that drop one or the other (Gitea's SDK keeps only
// the status of a refused merge; Azure DevOps' client loses the status when an error
// body is not JSON).
type messageCapture struct {
	mu     sync.Mutex
	msg    string
	status int
	next   http.RoundTripper
}

func (m *messageCapture) client(hc *http.Client) *http.Client {
	c := *hc
	m.next = hc.Transport
	if m.next == nil {
		m.next = http.DefaultTransport
	}
	c.Transport = m
	return &c
}

// RoundTrip implements http.RoundTripper.
func (m *messageCapture) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(r)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.msg = resp.StatusCode, ""
	if rerr != nil {
		return resp, nil
	}
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		m.msg = e.Message
	}
	return resp, nil
}

func (m *messageCapture) message() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.msg
}

// lastStatus is the status of the last error response, 0 when there was none.
func (m *messageCapture) lastStatus() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}
