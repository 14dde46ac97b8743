package steps

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/notify"
	"github.com/haul-dev/haul/promotion"
)

// sendMessageConfig is Kargo's send-message config.
type sendMessageConfig struct {
	Channel struct {
		Kind haulv1.ChannelKind `json:"kind"`
		Name string             `json:"name"`
	} `json:"channel"`
	Message      string `json:"message"`
	EncodingType string `json:"encodingType,omitempty"`
	Slack        *struct {
		ChannelID string `json:"channelID,omitempty"`
		ThreadTS  string `json:"threadTS,omitempty"`
	} `json:"slack,omitempty"`
	SMTP *struct {
		To      string `json:"to,omitempty"`
		Subject string `json:"subject,omitempty"`
		HTML    bool   `json:"html,omitempty"`
	} `json:"smtp,omitempty"`
}

// Validate checks the keys Kargo requires and the values it accepts.
func (c *sendMessageConfig) Validate() error {
	switch c.Channel.Kind {
	case haulv1.ChannelKindNamespaced, haulv1.ChannelKindCluster:
	default:
		return fmt.Errorf("channel.kind %q: must be MessageChannel or ClusterMessageChannel", c.Channel.Kind)
	}
	if c.Channel.Name == "" {
		return fmt.Errorf("channel.name must not be empty")
	}
	if errs := validation.IsDNS1123Subdomain(c.Channel.Name); len(errs) > 0 {
		return fmt.Errorf("channel.name %q: must be the name of a %s (a project sends only through its own channels and the cluster's, never namespace/name): %s",
			c.Channel.Name, c.Channel.Kind, strings.Join(errs, "; "))
	}
	if c.Message == "" {
		return fmt.Errorf("message must not be empty")
	}
	switch c.EncodingType {
	case "", "json", "yaml":
	case "xml":
		return fmt.Errorf("encodingType %q is not supported by Haul: use json or yaml", c.EncodingType)
	default:
		return fmt.Errorf("encodingType %q: must be empty, json or yaml", c.EncodingType)
	}
	return nil
}

// sendMessage sends one message to a MessageChannel of the project or a
// ClusterMessageChannel, now, with a few quick retries (Kargo's send-message). A
// delivery failure fails the step; use continueOnError to go on regardless.
func sendMessage(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg sendMessageConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	if sc.Services == nil || sc.Services.Notifier == nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("send-message: this Haul has no notification controller"))
	}
	m, err := notify.Decode(cfg.Message, cfg.EncodingType)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("message %w", err))
	}
	// An encoded message carries every option itself (Kargo ignores the per-kind keys
	// then).
	if cfg.EncodingType == "" {
		if cfg.Slack != nil {
			m.SlackChannel, m.SlackThreadTS = cfg.Slack.ChannelID, cfg.Slack.ThreadTS
		}
		if cfg.SMTP != nil {
			m.Subject, m.HTML = cfg.SMTP.Subject, cfg.SMTP.HTML
			if cfg.SMTP.To != "" {
				m.To = []string{cfg.SMTP.To}
			}
		}
	}
	ref := notify.ChannelRef{Kind: cfg.Channel.Kind, Name: cfg.Channel.Name}
	if ref.Kind == haulv1.ChannelKindNamespaced {
		ref.Namespace = sc.Project
	}
	res, err := sc.Services.Notifier.Send(ctx, sc.Project, ref, m)
	if err != nil {
		if notify.IsPermanent(err) {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("sending to %s: %w", ref, err))
		}
		return promotion.StepResult{}, fmt.Errorf("sending to %s: %w", ref, err)
	}
	out := map[string]any{}
	if cfg.Slack != nil {
		// Incoming webhooks do not return the new message's timestamp; a reply keeps
		// the thread it was given.
		out["slack"] = map[string]any{"threadTS": cfg.Slack.ThreadTS}
	}
	return promotion.StepResult{Output: out, Message: fmt.Sprintf("sent to %s: %s", ref, res.Detail)}, nil
}
