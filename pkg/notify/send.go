package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SignatureHeader carries "sha256=" + hex(HMAC-SHA256(hmacKey, body)) on HTTP channel
// requests, as Haul's own generic webhook receiver expects it.
const SignatureHeader = "X-Haul-Signature"

// Headers sent on every HTTP channel request besides the signature.
const (
	EventHeader    = "X-Haul-Event"    // the event type, or "send-message"
	DeliveryHeader = "X-Haul-Delivery" // the event ID (the same on every retry)
)

// maxBody caps what is read of a receiver's answer.
const maxBody = 4096

// Sender delivers one message to a resolved channel, once.
type Sender struct {
	// HTTPClient builds the client for webhooks (an SSRF-guarded one in Haul);
	// http.Client with the timeout when nil.
	HTTPClient func(timeout time.Duration) *http.Client
	// DialContext dials SMTP servers (a guarded dialer in Haul); net.Dialer when nil.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// PermanentError is a failure that retrying cannot fix (a 4xx answer, a channel
// without the Secret key it needs); the dispatcher does not retry it.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func permanent(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// IsPermanent says whether err should not be retried.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p) || errors.Is(err, ErrNotFound)
}

// Send delivers m to ch once. Errors never contain the Secret's values.
func (s *Sender) Send(ctx context.Context, ch *Channel, m Message) (Result, error) {
	var res Result
	var err error
	switch ch.KindName() {
	case "slack":
		res, err = s.sendSlack(ctx, ch, m)
	case "teams":
		res, err = s.sendTeams(ctx, ch, m)
	case "http":
		res, err = s.sendHTTP(ctx, ch, m)
	case "smtp":
		res, err = s.sendSMTP(ctx, ch, m)
	default:
		err = permanent("%s: spec: exactly one of slack, teams, http or smtp must be set", ch.Ref)
	}
	return res, ch.Mask(err)
}

func (s *Sender) client(timeout time.Duration) *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient(timeout)
	}
	return &http.Client{Timeout: timeout}
}

func (s *Sender) webhookURL(ch *Channel) (string, error) {
	if ch.Spec.SecretRef == nil {
		return "", permanent("%s: spec.secretRef is required: its Secret holds the webhook URL under %q", ch.Ref, KeyWebhookURL)
	}
	u := strings.TrimSpace(ch.value(KeyWebhookURL))
	if u == "" {
		return "", permanent("%s: Secret %q has no %q key", ch.Ref, ch.Spec.SecretRef.Name, KeyWebhookURL)
	}
	if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return "", permanent("%s: Secret %q key %q is not an http(s) URL", ch.Ref, ch.Spec.SecretRef.Name, KeyWebhookURL)
	}
	return u, nil
}

func (s *Sender) sendSlack(ctx context.Context, ch *Channel, m Message) (Result, error) {
	u, err := s.webhookURL(ch)
	if err != nil {
		return Result{}, err
	}
	body := map[string]any{}
	if m.Structured != nil {
		for k, v := range m.Structured {
			body[k] = v
		}
	} else {
		body["text"] = m.Text
	}
	if _, ok := body["channel"]; !ok {
		if c := firstNonEmpty(m.SlackChannel, ch.Spec.Slack.ChannelID); c != "" {
			body["channel"] = c
		}
	}
	if m.SlackThreadTS != "" {
		body["thread_ts"] = m.SlackThreadTS
	}
	return s.postJSON(ctx, ch, http.MethodPost, u, body, nil, 10*time.Second)
}

func (s *Sender) sendTeams(ctx context.Context, ch *Channel, m Message) (Result, error) {
	u, err := s.webhookURL(ch)
	if err != nil {
		return Result{}, err
	}
	if m.Structured != nil {
		return s.postJSON(ctx, ch, http.MethodPost, u, m.Structured, nil, 10*time.Second)
	}
	var blocks []any
	if t := ch.Spec.Teams.Title; t != "" {
		blocks = append(blocks, map[string]any{"type": "TextBlock", "text": t, "weight": "Bolder", "size": "Medium", "wrap": true})
	}
	blocks = append(blocks, map[string]any{"type": "TextBlock", "text": m.Text, "wrap": true})
	body := map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body":    blocks,
			},
		}},
	}
	return s.postJSON(ctx, ch, http.MethodPost, u, body, nil, 10*time.Second)
}

// sendHTTP sends the generic webhook: {"text": ..., "event": {...}} by default, or
// the structured output's body (and headers).
func (s *Sender) sendHTTP(ctx context.Context, ch *Channel, m Message) (Result, error) {
	spec := ch.Spec.HTTP
	var body any = map[string]any{"text": m.Text, "event": m.Event}
	if m.Event == nil {
		body = map[string]any{"text": m.Text}
	}
	headers := http.Header{}
	for _, h := range spec.Headers {
		headers.Set(h.Name, h.Value)
	}
	if m.Structured != nil {
		if b, ok := m.Structured["body"]; ok {
			body = b
		} else {
			body = m.Structured
		}
		if hs, ok := m.Structured["headers"].(map[string]any); ok {
			for k, v := range hs {
				headers.Set(k, fmt.Sprint(v))
			}
		}
	}
	if m.Event != nil {
		headers.Set(EventHeader, string(m.Event.Type))
		headers.Set(DeliveryHeader, m.Event.ID)
	} else {
		headers.Set(EventHeader, "send-message")
	}
	if t := ch.value(KeyBearerToken); t != "" {
		headers.Set("Authorization", "Bearer "+t)
	} else if a := ch.value(KeyAuthorization); a != "" {
		headers.Set("Authorization", a)
	}
	timeout := 10 * time.Second
	if spec.Timeout != nil && spec.Timeout.Duration > 0 {
		timeout = spec.Timeout.Duration
	}
	method := spec.Method
	if method == "" {
		method = http.MethodPost
	}
	return s.postJSON(ctx, ch, method, spec.URL, body, headers, timeout)
}

// postJSON sends body (a string as-is, anything else as JSON), signing it when the
// channel's Secret has an hmacKey.
func (s *Sender) postJSON(ctx context.Context, ch *Channel, method, target string, body any, headers http.Header, timeout time.Duration) (Result, error) {
	var raw []byte
	contentType := "application/json"
	if str, ok := body.(string); ok {
		raw = []byte(str)
		contentType = "text/plain; charset=utf-8"
	} else {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return Result{}, permanent("%s: encoding the message: %v", ch.Ref, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(raw))
	if err != nil {
		return Result{}, permanent("%s: building the request: %v", ch.Ref, stripURL(err))
	}
	for k, vs := range headers {
		req.Header[k] = vs
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "haul-notifications")
	if key := ch.value(KeyHMACKey); key != "" {
		req.Header.Set(SignatureHeader, Sign([]byte(key), raw))
	}
	resp, err := s.client(timeout).Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %s request failed: %w", ch.Ref, method, stripURL(err))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	detail := "HTTP " + strconv.Itoa(resp.StatusCode)
	if a := strings.TrimSpace(string(answer)); a != "" {
		detail += ": " + firstLine(a, 200)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return Result{Detail: detail}, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return Result{Detail: detail}, fmt.Errorf("%s: receiver answered %s", ch.Ref, detail)
	default:
		return Result{Detail: detail}, permanent("%s: receiver refused the message: %s", ch.Ref, detail)
	}
}

// Sign returns the SignatureHeader value for body.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether header is a valid signature of body with key, in constant
// time: what a receiver of an HTTP channel runs.
func Verify(key, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(key, body)), []byte(header))
}

// stripURL drops the URL from *url.Error, which would otherwise carry a webhook URL
// (a secret) into messages.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (s *Sender) sendSMTP(ctx context.Context, ch *Channel, m Message) (Result, error) {
	spec := ch.Spec.SMTP
	subject, body, to, html := m.Subject, m.Text, m.To, m.HTML
	if st := m.Structured; st != nil {
		if v, ok := st["subject"].(string); ok {
			subject = v
		}
		if v, ok := st["body"].(string); ok {
			body = v
		}
		if v, ok := st["html"].(bool); ok {
			html = v
		}
		switch v := st["to"].(type) {
		case string:
			to = []string{v}
		case []any:
			to = nil
			for _, x := range v {
				to = append(to, fmt.Sprint(x))
			}
		}
	}
	if len(to) == 0 {
		to = spec.To
	}
	if len(to) == 0 {
		return Result{}, permanent("%s: no recipient: set spec.smtp.to or the message's to", ch.Ref)
	}
	from, err := mail.ParseAddress(spec.From)
	if err != nil {
		return Result{}, permanent("%s: spec.smtp.from %q: %v", ch.Ref, spec.From, err)
	}
	var rcpts []string
	for i, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return Result{}, permanent("%s: to[%d] %q: %v", ch.Ref, i, t, err)
		}
		rcpts = append(rcpts, a.Address)
	}
	if subject == "" {
		subject = firstLine(body, 120)
	}
	msg := buildMail(from.String(), to, subject, body, html)

	addr := net.JoinHostPort(spec.Host, strconv.Itoa(int(spec.Port)))
	dial := s.DialContext
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		dial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := dial(dctx, "tcp", addr)
	if err != nil {
		return Result{}, fmt.Errorf("%s: connecting to %s: %w", ch.Ref, addr, err)
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	useTLS := spec.UseTLS == nil || *spec.UseTLS
	tlsCfg := &tls.Config{ServerName: spec.Host, InsecureSkipVerify: spec.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in, documented as for tests
	var c *smtp.Client
	switch {
	case useTLS && spec.Port == 465:
		c = smtp.NewClient(tls.Client(conn, tlsCfg))
	case useTLS:
		if c, err = smtp.NewClientStartTLS(conn, tlsCfg); err != nil {
			_ = conn.Close()
			return Result{}, fmt.Errorf("%s: STARTTLS with %s: %w", ch.Ref, addr, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer func() { _ = c.Close() }()
	if user := ch.value(KeyUsername); user != "" {
		if _, isTLS := c.TLSConnectionState(); !isTLS && !isLoopback(spec.Host) {
			return Result{}, permanent("%s: refusing to send the SMTP password to %s without TLS (spec.smtp.useTLS is false)", ch.Ref, addr)
		}
		if err := c.Auth(sasl.NewPlainClient("", user, ch.value(KeyPassword))); err != nil {
			return Result{}, permanent("%s: SMTP authentication with %s failed: %v", ch.Ref, addr, err)
		}
	}
	if err := c.SendMail(from.Address, rcpts, strings.NewReader(msg)); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 {
			return Result{}, permanent("%s: %s refused the message: %v", ch.Ref, addr, err)
		}
		return Result{}, fmt.Errorf("%s: sending to %s: %w", ch.Ref, addr, err)
	}
	_ = c.Quit()
	return Result{Detail: fmt.Sprintf("accepted by %s for %d recipient(s)", addr, len(rcpts))}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// buildMail renders an RFC 5322 message; headers are encoded so that text from
// events cannot add headers.
func buildMail(from string, to []string, subject, body string, html bool) string {
	var b strings.Builder
	clean := func(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
	b.WriteString("From: " + clean(from) + "\r\n")
	b.WriteString("To: " + clean(strings.Join(to, ", ")) + "\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", clean(subject)) + "\r\n")
	b.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	if html {
		b.WriteString("Content-Type: text/html; charset=utf-8\r\n")
	} else {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	b.WriteString("Content-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.String()
}

func firstLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
