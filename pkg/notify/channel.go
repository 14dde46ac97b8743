package notify

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/redact"
)

// Secret keys a channel's Secret may hold.
const (
	KeyWebhookURL    = "webhookURL"    // slack, teams
	KeyHMACKey       = "hmacKey"       // http
	KeyBearerToken   = "bearerToken"   // http
	KeyAuthorization = "authorization" // http
	KeyUsername      = "username"      // smtp
	KeyPassword      = "password"      // smtp
)

// Channel is a resolved channel: its spec and its Secret's data. Never log it.
type Channel struct {
	Ref    ChannelRef
	Spec   haulv1.MessageChannelSpec
	secret map[string][]byte
	mask   *redact.Values
}

// NewChannel builds a Channel from a spec and Secret data (tests and callers that
// already hold both).
func NewChannel(ref ChannelRef, spec haulv1.MessageChannelSpec, secret map[string][]byte) *Channel {
	c := &Channel{Ref: ref, Spec: spec, secret: secret, mask: &redact.Values{}}
	for _, v := range secret {
		c.mask.Add(string(v))
	}
	return c
}

// KindName is the channel's kind: slack, teams, http or smtp ("" when none is set).
func (c *Channel) KindName() string {
	switch {
	case c.Spec.Slack != nil:
		return "slack"
	case c.Spec.Teams != nil:
		return "teams"
	case c.Spec.HTTP != nil:
		return "http"
	case c.Spec.SMTP != nil:
		return "smtp"
	}
	return ""
}

func (c *Channel) value(key string) string { return string(c.secret[key]) }

// Mask hides every value of the channel's Secret in err.
func (c *Channel) Mask(err error) error {
	if err == nil {
		return nil
	}
	return c.mask.Error(err)
}

// ErrNotFound is returned (wrapped) when a channel or its Secret does not exist.
var ErrNotFound = errors.New("not found")

// Resolver reads channels and their Secrets.
type Resolver struct {
	// Reader reads MessageChannels, ClusterMessageChannels and Secrets; use a
	// non-caching reader for Secrets so the controller does not cache all of them.
	Reader client.Reader
	// ClusterSecretsNamespace holds the Secrets of ClusterMessageChannels (Haul's
	// shared credentials namespace). Empty: ClusterMessageChannels cannot have Secrets.
	ClusterSecretsNamespace string
}

// Resolve reads the channel ref names, as seen from project, and its Secret. A
// MessageChannel is always looked up in project, whatever ref.Namespace says, so one
// project can never use another's channel.
func (r *Resolver) Resolve(ctx context.Context, project string, ref ChannelRef) (*Channel, error) {
	var spec haulv1.MessageChannelSpec
	secretNS := project
	switch ref.Kind {
	case haulv1.ChannelKindCluster:
		ref.Namespace = ""
		cmc := &haulv1.ClusterMessageChannel{}
		if err := r.Reader.Get(ctx, client.ObjectKey{Name: ref.Name}, cmc); err != nil {
			return nil, notFound(err, fmt.Sprintf("ClusterMessageChannel %q", ref.Name))
		}
		spec = cmc.Spec
		secretNS = r.ClusterSecretsNamespace
	case haulv1.ChannelKindNamespaced, "":
		ref.Kind, ref.Namespace = haulv1.ChannelKindNamespaced, project
		mc := &haulv1.MessageChannel{}
		if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: project, Name: ref.Name}, mc); err != nil {
			return nil, notFound(err, fmt.Sprintf("MessageChannel %q in project %q", ref.Name, project))
		}
		spec = mc.Spec
	default:
		return nil, fmt.Errorf("channel.kind %q: must be MessageChannel or ClusterMessageChannel", ref.Kind)
	}
	var data map[string][]byte
	if spec.SecretRef != nil {
		if secretNS == "" {
			return nil, fmt.Errorf("%s: spec.secretRef %q: no cluster secrets namespace is configured for ClusterMessageChannels", ref, spec.SecretRef.Name)
		}
		sec := &corev1.Secret{}
		if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: secretNS, Name: spec.SecretRef.Name}, sec); err != nil {
			return nil, notFound(err, fmt.Sprintf("%s: spec.secretRef: Secret %q in namespace %q", ref, spec.SecretRef.Name, secretNS))
		}
		data = sec.Data
	}
	return NewChannel(ref, spec, data), nil
}

func notFound(err error, what string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}
