package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/notify"
)

// receiver is a local HTTP server recording every request it gets.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []recorded
	fails atomic.Int32 // answer 503 this many times first
}

type recorded struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{req.Header.Clone(), b})
		r.mu.Unlock()
		if r.fails.Add(-1) >= 0 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

type staticSource map[string]*notify.Channel

func (s staticSource) Resolve(_ context.Context, _ string, ref notify.ChannelRef) (*notify.Channel, error) {
	if c, ok := s[ref.Name]; ok {
		return c, nil
	}
	return nil, notify.ErrNotFound
}

var ref = notify.ChannelRef{Kind: haulv1.ChannelKindNamespaced, Namespace: "demo", Name: "ch"}

func TestSlackWebhookGetsTextAndChannel(t *testing.T) {
	rcv := newReceiver(t)
	ch := notify.NewChannel(ref, haulv1.MessageChannelSpec{SecretRef: &haulv1.SecretRef{Name: "s"}, Slack: &haulv1.SlackChannel{ChannelID: "C123"}},
		map[string][]byte{notify.KeyWebhookURL: []byte(rcv.srv.URL + "/services/T000/B000/XXXXSECRET")})
	res, err := (&notify.Sender{}).Send(context.Background(), ch, notify.Message{Text: "prod promoted"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Detail != "HTTP 200: ok" {
		t.Errorf("detail = %q", res.Detail)
	}
	reqs := rcv.got()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests", len(reqs))
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body["text"] != "prod promoted" || body["channel"] != "C123" {
		t.Errorf("slack body = %s", reqs[0].body)
	}
}

func TestTeamsWebhookGetsAnAdaptiveCard(t *testing.T) {
	rcv := newReceiver(t)
	ch := notify.NewChannel(ref, haulv1.MessageChannelSpec{SecretRef: &haulv1.SecretRef{Name: "s"}, Teams: &haulv1.TeamsChannel{Title: "Haul"}},
		map[string][]byte{notify.KeyWebhookURL: []byte(rcv.srv.URL + "/webhookb2/secret")})
	if _, err := (&notify.Sender{}).Send(context.Background(), ch, notify.Message{Text: "verification failed"}); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type string `json:"type"`
				Body []struct {
					Type, Text string
				} `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(rcv.got()[0].body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "message" || len(msg.Attachments) != 1 || msg.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
		msg.Attachments[0].Content.Type != "AdaptiveCard" || len(msg.Attachments[0].Content.Body) != 2 ||
		msg.Attachments[0].Content.Body[0].Text != "Haul" || msg.Attachments[0].Content.Body[1].Text != "verification failed" {
		t.Errorf("teams body = %s", rcv.got()[0].body)
	}
}

func TestHTTPChannelSignsTheBody(t *testing.T) {
	rcv := newReceiver(t)
	key := []byte("hmac-key-0123456789")
	ch := notify.NewChannel(ref, haulv1.MessageChannelSpec{SecretRef: &haulv1.SecretRef{Name: "s"}, HTTP: &haulv1.HTTPChannel{URL: rcv.srv.URL + "/hook",
		Headers: []haulv1.HTTPHeader{{Name: "X-Team", Value: "platform"}}}},
		map[string][]byte{notify.KeyHMACKey: key})
	ev := &notify.Event{ID: "e1", Type: haulv1.EventPromotionFailed, Project: "demo", StageName: "prod", Name: "prod.x"}
	if _, err := (&notify.Sender{}).Send(context.Background(), ch, notify.Message{Text: "failed", Event: ev}); err != nil {
		t.Fatal(err)
	}
	r := rcv.got()[0]
	sig := r.header.Get(notify.SignatureHeader)
	// Verified as a receiver would, with crypto/hmac, not with the sender's code.
	mac := hmac.New(sha256.New, key)
	mac.Write(r.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(sig), []byte(want)) || !notify.Verify(key, r.body, sig) {
		t.Fatalf("signature %q does not verify", sig)
	}
	if notify.Verify([]byte("other-key"), r.body, sig) || notify.Verify(key, append(r.body, ' '), sig) {
		t.Fatal("signature verifies with a wrong key or a changed body")
	}
	if r.header.Get(notify.EventHeader) != "PromotionFailed" || r.header.Get(notify.DeliveryHeader) != "e1" || r.header.Get("X-Team") != "platform" {
		t.Errorf("headers = %v", r.header)
	}
	var body struct {
		Text  string
		Event notify.Event
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Text != "failed" || body.Event.StageName != "prod" || body.Event.Type != haulv1.EventPromotionFailed {
		t.Errorf("body = %s", r.body)
	}
}

// TestDispatcherRetriesOnceAfterAFailure: the receiver answers 503 first; the message
// is delivered by the second attempt and the outcome says 2 attempts.
func TestDispatcherRetriesOnceAfterAFailure(t *testing.T) {
	rcv := newReceiver(t)
	rcv.fails.Store(1)
	ch := notify.NewChannel(ref, haulv1.MessageChannelSpec{HTTP: &haulv1.HTTPChannel{URL: rcv.srv.URL}}, nil)
	outcomes := make(chan notify.Outcome, 1)
	d := &notify.Dispatcher{Resolver: staticSource{"ch": ch}, Sender: &notify.Sender{}, InitialBackoff: 20 * time.Millisecond, Done: func(o notify.Outcome) { outcomes <- o }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = d.Start(ctx) }()
	d.Enqueue(notify.Job{Project: "demo", Channel: ref, Message: notify.Message{Text: "hi"}, Event: "PromotionSucceeded"})
	select {
	case o := <-outcomes:
		if o.Err != nil || o.Attempts != 2 {
			t.Fatalf("outcome: attempts=%d err=%v", o.Attempts, o.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome")
	}
	if n := len(rcv.got()); n != 2 {
		t.Fatalf("receiver got %d requests, want 2 (one failure, one retry)", n)
	}
}

// TestRefusedMessageIsNotRetried: a 4xx means the receiver will never take it.
func TestRefusedMessageIsNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "invalid_payload", http.StatusBadRequest) }))
	defer srv.Close()
	var calls atomic.Int32
	ch := notify.NewChannel(ref, haulv1.MessageChannelSpec{HTTP: &haulv1.HTTPChannel{URL: srv.URL}}, nil)
	s := &notify.Sender{HTTPClient: func(timeout time.Duration) *http.Client {
		calls.Add(1)
		return &http.Client{Timeout: timeout}
	}}
	_, err := notify.SendNow(context.Background(), staticSource{"ch": ch}, s, "demo", ref, notify.Message{Text: "x"}, 3)
	if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP 400: invalid_payload") {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("sent %d times, want 1", calls.Load())
	}
}

// TestWebhookURLNeverInErrors: the Slack URL is the secret; a failing receiver (a
// closed port, and one echoing the URL back) must not put it into the error.
func TestWebhookURLNeverInErrors(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad url http://"+r.Host+r.URL.Path, http.StatusInternalServerError)
	}))
	defer echo.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + l.Addr().String()
	_ = l.Close()
	for _, base := range []string{closed, echo.URL} {
		secretURL := base + "/services/T000/B000/TOPSECRETTOKEN"
		ch := notify.NewChannel(ref, haulv1.MessageChannelSpec{SecretRef: &haulv1.SecretRef{Name: "s"}, Slack: &haulv1.SlackChannel{}},
			map[string][]byte{notify.KeyWebhookURL: []byte(secretURL)})
		_, err := (&notify.Sender{}).Send(context.Background(), ch, notify.Message{Text: "x"})
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), "TOPSECRETTOKEN") {
			t.Fatalf("error shows the webhook URL: %v", err)
		}
	}
}

// smtpBackend is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that requires
// AUTH PLAIN and keeps what it receives.
type smtpBackend struct {
	mu    sync.Mutex
	mails []mailMsg
}

type mailMsg struct {
	user, from string
	to         []string
	data       string
}

func (b *smtpBackend) got() []mailMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mailMsg(nil), b.mails...)
}

type smtpSession struct {
	be  *smtpBackend
	cur mailMsg
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{be: b}, nil }

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "haul" || pass != "smtp-pass-123" {
			return errors.New("invalid credentials")
		}
		s.cur.user = user
		return nil
	}), nil
}
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.be.mu.Lock()
	s.be.mails = append(s.be.mails, s.cur)
	s.be.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        { s.cur = mailMsg{user: s.cur.user} }
func (s *smtpSession) Logout() error { return nil }

// StartSMTP runs the server and returns its port.
func startSMTP(t *testing.T) (*smtpBackend, int32) {
	be := &smtpBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return be, int32(l.Addr().(*net.TCPAddr).Port)
}

func TestSMTPMailIsReceived(t *testing.T) {
	be, port := startSMTP(t)
	spec := haulv1.MessageChannelSpec{SecretRef: &haulv1.SecretRef{Name: "s"}, SMTP: &haulv1.SMTPChannel{
		From: "Haul <haul@example.com>", To: []string{"team@example.com"}, Host: "127.0.0.1", Port: port, UseTLS: new(false)}}
	ch := notify.NewChannel(ref, spec, map[string][]byte{notify.KeyUsername: []byte("haul"), notify.KeyPassword: []byte("smtp-pass-123")})
	res, err := (&notify.Sender{}).Send(context.Background(), ch, notify.Message{Text: "Promotion prod.x failed\nstep 2: boom"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Detail, "1 recipient") {
		t.Errorf("detail = %q", res.Detail)
	}
	if mails := be.got(); len(mails) != 1 {
		t.Fatalf("server got %d mails", len(mails))
	}
	m := be.got()[0]
	if m.from != "haul@example.com" || len(m.to) != 1 || m.to[0] != "team@example.com" {
		t.Errorf("envelope from=%q to=%v", m.from, m.to)
	}
	if !strings.Contains(m.data, "Subject: Promotion prod.x failed\r\n") || !strings.Contains(m.data, "\r\n\r\nPromotion prod.x failed\r\nstep 2: boom") {
		t.Errorf("mail:\n%s", m.data)
	}

	// A subject carrying CR LF cannot add a header.
	if _, err := (&notify.Sender{}).Send(context.Background(), ch, notify.Message{Text: "x", Subject: "hi\r\nBcc: evil@example.com"}); err != nil {
		t.Fatal(err)
	}
	if mails := be.got(); len(mails) != 2 || strings.Contains(mails[1].data, "\r\nBcc:") {
		t.Errorf("header injected or mail missing: %v", mails)
	}

	// A wrong password is refused, and the password is not in the error.
	bad := notify.NewChannel(ref, spec, map[string][]byte{notify.KeyUsername: []byte("haul"), notify.KeyPassword: []byte("wrong-password-xyz")})
	_, err = (&notify.Sender{}).Send(context.Background(), bad, notify.Message{Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "authentication") || strings.Contains(err.Error(), "wrong-password-xyz") {
		t.Fatalf("err = %v", err)
	}
}
