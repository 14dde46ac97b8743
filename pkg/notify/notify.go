// Package notify sends messages to MessageChannels and ClusterMessageChannels: Slack
// and Microsoft Teams incoming webhooks, a generic JSON webhook signed with HMAC, and
// SMTP e-mail. It reads each channel's Secret when it sends (so secret values live
// only in Secrets and in memory for one attempt) and masks every secret value in the
// errors it returns.
//
// Two ways in:
//   - Sender.Send delivers one message now (the send-message step);
//   - Dispatcher.Enqueue delivers in the background with retry and backoff, never
//     blocking the caller (events routed by EventRouters).
//
// The Hub interface is what steps and controllers are handed: Send for explicit
// messages, Publish for events (the notification controller routes them). A nil Hub
// is valid and does nothing, so callers need no checks.
package notify

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// ChannelRef names a channel: a MessageChannel in the project namespace or a
// ClusterMessageChannel.
type ChannelRef struct {
	Kind      haulv1.ChannelKind `json:"kind"`
	Namespace string             `json:"namespace,omitempty"` // empty for ClusterMessageChannel
	Name      string             `json:"name"`
}

// String is "<kind>/<name>" or "<kind>/<namespace>/<name>".
func (r ChannelRef) String() string {
	if r.Namespace == "" {
		return string(r.Kind) + "/" + r.Name
	}
	return string(r.Kind) + "/" + r.Namespace + "/" + r.Name
}

// Message is what one channel sends. Text is the plain message; Structured, when
// set, is a decoded json/yaml output whose keys depend on the channel kind (slack:
// text, blocks, channel, thread_ts, ...; teams: a full message or card; smtp:
// subject, body, to, html; http: body, headers). Subject, To, HTML and SlackChannel
// are the send-message step's per-kind options.
type Message struct {
	Text       string
	Structured map[string]any
	// Subject, To and HTML are e-mail options; empty means the channel's defaults and
	// a subject built from the first line of Text.
	Subject string
	To      []string
	HTML    bool
	// SlackChannel overrides the Slack channel's channelID; SlackThreadTS replies in a
	// thread.
	SlackChannel  string
	SlackThreadTS string
	// Event is the event this message is about, for the HTTP channel's JSON envelope
	// and its X-Haul-Event header. Nil for send-message.
	Event *Event
}

// Result is what a receiver answered to a delivered message.
type Result struct {
	// Detail is a short, secret-free description ("HTTP 200", "250 2.0.0 OK").
	Detail string
}

// Freight is the part of a Freight an event carries.
type Freight struct {
	Name   string `json:"name"`
	Alias  string `json:"alias,omitempty"`
	Origin string `json:"origin,omitempty"`
}

// Event is a promotion or verification event. Its JSON form (Kargo's field names
// where Kargo has the field) is what router templates see as `event`.
type Event struct {
	// ID is unique per occurrence; publishing the same ID twice sends once.
	ID   string           `json:"id"`
	Type haulv1.EventType `json:"type"`
	// Project is the project (namespace) the event happened in.
	Project string `json:"project"`
	// StageName is the Stage concerned.
	StageName string `json:"stageName,omitempty"`
	// Name is the Promotion's name, for promotion events and rollbacks.
	Name string `json:"name,omitempty"`
	// Freight is the Freight promoted or verified.
	Freight *Freight `json:"freight,omitempty"`
	// Actor is who caused the event (a user, auto-promotion, auto-rollback).
	Actor string `json:"actor,omitempty"`
	// Message says what happened, as Haul recorded it.
	Message string `json:"message,omitempty"`
	// Rollback is true for events of a rollback Promotion.
	Rollback bool `json:"rollback,omitempty"`
	// VerificationID is the verification run, for verification events.
	VerificationID string `json:"verificationID,omitempty"`
	// Time is when the event happened.
	Time time.Time `json:"time"`
	// Data is the Kubernetes object the event is about (Promotion or Stage), as
	// templates see it under `data`. Not sent in the HTTP envelope.
	Data any `json:"-"`
}

// Hub sends explicit messages and publishes events for routing.
type Hub interface {
	// Send delivers m to the channel now, with a few quick retries, and reports the
	// receiver's answer or an error free of secrets.
	Send(ctx context.Context, project string, ch ChannelRef, m Message) (Result, error)
	// Publish hands an event to the routers; it never blocks and never fails the caller.
	Publish(ctx context.Context, e Event)
}

// Publish calls h.Publish when h is not nil: the event hook other packages call (for
// example when a Promotion starts waiting for approval).
func Publish(ctx context.Context, h Hub, e Event) {
	if h == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	h.Publish(ctx, e)
}

// Decode reads an encoded message, as a router's encodingType or the send-message
// step's says: "" is the text itself; json or yaml is a structured body (see Message),
// whose "text" key, if any, is also its plain text. The error says what the text is
// not ("is not json: ..."); callers name the field.
func Decode(text, encoding string) (Message, error) {
	if encoding == "" {
		return Message{Text: text}, nil
	}
	var s map[string]any
	if err := yaml.Unmarshal([]byte(text), &s); err != nil {
		return Message{}, fmt.Errorf("is not %s: %w", encoding, err)
	}
	m := Message{Structured: s}
	if t, ok := s["text"].(string); ok {
		m.Text = t
	}
	return m, nil
}
