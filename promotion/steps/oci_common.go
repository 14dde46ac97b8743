package steps

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/haul-dev/haul/pkg/credentials"
	"github.com/haul-dev/haul/promotion"
)

// ociRef is a parsed reference of the oci-download and oci-push steps, with what its
// spelling says about the credentials to use: Kargo's rule is that an "oci://" prefix
// marks a Helm chart (helm credentials for "oci://<repository>"), anything else an
// image (image credentials for "<repository>").
type ociRef struct {
	ref      name.Reference
	credType credentials.Type
	credURL  string
}

// parseOCIRef parses s for the config field field.
func parseOCIRef(field, s string) (ociRef, error) {
	credType := credentials.Image
	trimmed, isChart := strings.CutPrefix(s, "oci://")
	if isChart {
		credType = credentials.Helm
	}
	ref, err := name.ParseReference(trimmed)
	if err != nil {
		return ociRef{}, promotion.Terminal(fmt.Errorf("%s %q is not an OCI reference (registry/repository:tag or registry/repository@sha256:digest): %w", field, s, err))
	}
	credURL := ref.Context().String()
	if isChart {
		credURL = "oci://" + credURL
	}
	return ociRef{ref: ref, credType: credType, credURL: credURL}, nil
}

// ociOptions are the registry client options for r: the step's guarded transport
// (the address policy applies to registries too), TLS verification unless the user
// turned it off, and the project's credentials for the repository when there are any.
// It also reports whether credentials were found, for ociError's message.
func ociOptions(ctx context.Context, sc *promotion.StepContext, r ociRef, insecureSkipTLSVerify bool) ([]remote.Option, bool, error) {
	client := sc.HTTPClient(10 * time.Minute)
	rt := client.Transport
	if insecureSkipTLSVerify {
		if tr, ok := rt.(*http.Transport); ok {
			tr = tr.Clone()
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
			rt = tr
		}
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(rt),
		remote.WithUserAgent("haul"),
	}
	if sc.Services == nil || sc.Services.Credentials == nil {
		return opts, false, nil
	}
	u, p, ok, err := sc.Services.Credentials(ctx, r.credType, r.credURL)
	if err != nil {
		return nil, false, fmt.Errorf("looking up %s credentials for %s: %w", r.credType, r.credURL, err)
	}
	if ok && (u != "" || p != "") {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: u, Password: p}))
	}
	return opts, ok, nil
}

// ociError words a registry failure for the user: a refused login says whether the
// project had credentials for the repository (and of which type, so the user knows
// which Secret to add), and client errors other than 429 are terminal.
func ociError(doing string, r ociRef, haveCreds bool, err error) error {
	if errors.Is(err, promotion.ErrForbiddenAddress) {
		return promotion.Terminal(fmt.Errorf("%s: %w", doing, err))
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %w", doing, redactURLError(err))
	}
	switch {
	case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
		if !haveCreds {
			return promotion.Terminal(fmt.Errorf("%s: the registry refused anonymous access (%d) and the project has no %s credentials for %s; add a Secret labelled haul.dev/cred-type=%s with repoURL %s",
				doing, te.StatusCode, r.credType, r.credURL, r.credType, r.credURL))
		}
		return promotion.Terminal(fmt.Errorf("%s: the registry refused the project's %s credentials for %s (%d)", doing, r.credType, r.credURL, te.StatusCode))
	case te.StatusCode == http.StatusTooManyRequests || te.StatusCode >= 500:
		return fmt.Errorf("%s: %w", doing, te)
	case te.StatusCode >= 400:
		return promotion.Terminal(fmt.Errorf("%s: %w", doing, te))
	}
	return fmt.Errorf("%s: %w", doing, te)
}
