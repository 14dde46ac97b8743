package steps

import (
	"context"
	"errors"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/notify"
	"github.com/haul-dev/haul/promotion"
)

// recordingHub records what send-message hands to the notification controller's Hub
// (whose delivery is tested against real local servers in controllers/notification).
type recordingHub struct {
	project string
	ref     notify.ChannelRef
	msg     notify.Message
	err     error
}

func (h *recordingHub) Send(_ context.Context, project string, ref notify.ChannelRef, m notify.Message) (notify.Result, error) {
	h.project, h.ref, h.msg = project, ref, m
	return notify.Result{Detail: "HTTP 200"}, h.err
}

func (h *recordingHub) Publish(context.Context, notify.Event) {}

func runSendMessage(t *testing.T, hub notify.Hub, cfg map[string]any) (promotion.StepResult, error) {
	t.Helper()
	sc := &promotion.StepContext{WorkDir: t.TempDir(), Project: "demo", Stage: "prod", Promotion: "p1", Config: cfg, Attempt: 1,
		Services: &promotion.Services{Notifier: hub}}
	res, err := sendMessage(context.Background(), sc)
	assertOutputsListed(t, sendMessage, cfg, res)
	return res, err
}

// TestSendMessageTakesKargosKeys: Kargo's send-message config (channel, message, slack
// and smtp options, encoded messages) becomes the message the channel sends, in the
// Promotion's own project.
func TestSendMessageTakesKargosKeys(t *testing.T) {
	hub := &recordingHub{}
	res, err := runSendMessage(t, hub, map[string]any{
		"channel": map[string]any{"kind": "MessageChannel", "name": "slack"},
		"message": "promoted to prod",
		"slack":   map[string]any{"channelID": "C123", "threadTS": "1700000000.0001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if hub.project != "demo" || hub.ref != (notify.ChannelRef{Kind: haulv1.ChannelKindNamespaced, Namespace: "demo", Name: "slack"}) ||
		hub.msg.Text != "promoted to prod" || hub.msg.SlackChannel != "C123" || hub.msg.SlackThreadTS != "1700000000.0001" {
		t.Fatalf("sent %+v to %+v in %q", hub.msg, hub.ref, hub.project)
	}
	if out := res.Output["slack"].(map[string]any); out["threadTS"] != "1700000000.0001" {
		t.Fatalf("outputs %v", res.Output)
	}

	_, err = runSendMessage(t, hub, map[string]any{
		"channel": map[string]any{"kind": "ClusterMessageChannel", "name": "mail"},
		"message": "done", "smtp": map[string]any{"to": "ops@example.com", "subject": "Release", "html": true},
	})
	if err != nil || hub.ref.Kind != haulv1.ChannelKindCluster || hub.ref.Namespace != "" ||
		hub.msg.Subject != "Release" || !hub.msg.HTML || len(hub.msg.To) != 1 || hub.msg.To[0] != "ops@example.com" {
		t.Fatalf("smtp options: %v %+v", err, hub.msg)
	}

	_, err = runSendMessage(t, hub, map[string]any{
		"channel": map[string]any{"kind": "MessageChannel", "name": "mail"}, "encodingType": "json",
		"message": `{"subject": "Deploy", "body": "prod is at 1.2.3", "to": ["a@example.com"]}`,
	})
	if err != nil || hub.msg.Structured["subject"] != "Deploy" || hub.msg.Structured["body"] != "prod is at 1.2.3" {
		t.Fatalf("encoded message: %v %+v", err, hub.msg)
	}
}

// TestSendMessageRefusals: wrong config is refused naming the key and value; a
// receiver's permanent refusal fails the step for good.
func TestSendMessageRefusals(t *testing.T) {
	hub := &recordingHub{}
	for want, cfg := range map[string]map[string]any{
		`channel.kind "Slack"`: {"channel": map[string]any{"kind": "Slack", "name": "x"}, "message": "m"},
		"channel.name":         {"channel": map[string]any{"kind": "MessageChannel"}, "message": "m"},
		"config.message":       {"channel": map[string]any{"kind": "MessageChannel", "name": "x"}},
		`encodingType "xml"`:   {"channel": map[string]any{"kind": "MessageChannel", "name": "x"}, "message": "<a/>", "encodingType": "xml"},
		"message is not json":  {"channel": map[string]any{"kind": "MessageChannel", "name": "x"}, "message": "{", "encodingType": "json"},
	} {
		if _, err := runSendMessage(t, hub, cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want an error naming %q", cfg, err, want)
		}
	}
	hub.err = &notify.PermanentError{Err: errors.New("HTTP 400: bad payload")}
	_, err := runSendMessage(t, hub, map[string]any{"channel": map[string]any{"kind": "MessageChannel", "name": "x"}, "message": "m"})
	if err == nil || !promotion.IsTerminal(err) || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("a permanent refusal: got %v, want a terminal error with the answer", err)
	}
	if _, err := runSendMessage(t, nil, map[string]any{"channel": map[string]any{"kind": "MessageChannel", "name": "x"}, "message": "m"}); err == nil {
		t.Fatal("send-message without a notifier succeeded")
	}
}
