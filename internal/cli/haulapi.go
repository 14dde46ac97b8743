package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// haulServerEnv names the Haul server the CLI sends an action to when the cluster
// refuses to let the caller write it directly. Project roles below haul-admin (such as
// haul-approver, haul-promoter) hold custom verbs, not patch: their approve, abort, refresh,
// reverify, pause and resume go through the Haul REST API, which checks the verb and
// writes the change.
const haulServerEnv = "HAUL_SERVER"

// viaServerHint tells a refused caller how to act through the Haul server instead.
func viaServerHint(err error) error {
	return fmt.Errorf("%w\nproject promoters act through the Haul server: set %s to its URL (e.g. %s=https://haul.example.com) with a kubeconfig that holds a bearer token", err, haulServerEnv, haulServerEnv)
}

// actionRoute is the REST API path that performs an annotation action, or "".
func actionRoute(k *kind, ns, name, key string) string {
	base := "/api/v1/projects/" + url.PathEscape(ns) + "/"
	n := url.PathEscape(name)
	switch {
	case k.Kind == "Promotion" && key == haulv1.AnnotationAbort:
		return base + "promotions/" + n + "/abort"
	case k.Kind == "Warehouse" && key == haulv1.AnnotationRefresh:
		return base + "warehouses/" + n + "/refresh"
	case k.Kind == "Stage" && key == haulv1.AnnotationRefresh:
		return base + "stages/" + n + "/refresh"
	case k.Kind == "Stage" && key == haulv1.AnnotationReverify:
		return base + "stages/" + n + "/reverify"
	case k.Kind == "Stage" && key == haulv1.AnnotationAbort:
		return base + "stages/" + n + "/abort-verification"
	}
	return ""
}

// forbiddenFallback decides what to do when the cluster refused a direct write: with
// $HAUL_SERVER set it returns the server's URL, otherwise the refusal with a hint.
func forbiddenFallback(err error, translated error) (string, error) {
	if !apierrors.IsForbidden(err) {
		return "", translated
	}
	srv := strings.TrimRight(os.Getenv(haulServerEnv), "/")
	if srv == "" {
		return "", viaServerHint(translated)
	}
	return srv, nil
}

// postToServer sends one action to the Haul REST API at srv as the kubeconfig's user
// (its bearer token, which the server checks with a TokenReview) and decodes the
// answer into out.
func postToServer(ctx context.Context, s *session, srv, path string, body, out any) error {
	u, err := url.Parse(srv)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s %q is not an http(s) URL", haulServerEnv, srv)
	}
	cfg := rest.CopyConfig(s.config)
	if cfg.BearerToken == "" && cfg.BearerTokenFile == "" && cfg.ExecProvider == nil && cfg.AuthProvider == nil {
		return fmt.Errorf("the Haul server at %s needs a bearer token, and the kubeconfig has none (it authenticates with a client certificate): use a token kubeconfig, or a role that may write the object directly", srv)
	}
	// The Haul server has its own certificate; keep only the credentials.
	cfg.Host, cfg.APIPath = srv, ""
	cfg.TLSClientConfig = rest.TLSClientConfig{}
	cfg.Impersonate = rest.ImpersonationConfig{}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return fmt.Errorf("building a client for the Haul server at %s: %w", srv, err)
	}
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the Haul server at %s: %w", srv, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the Haul server's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("the Haul server at %s refused POST %s: %d %s", srv, path, resp.StatusCode, e.Message)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("the Haul server's answer to POST %s is not JSON: %w", path, err)
		}
	}
	return nil
}

// annotateViaServer asks the Haul server to set an action annotation and returns the
// value it set.
func annotateViaServer(ctx context.Context, s *session, srv string, k *kind, ns, name, key string) (string, error) {
	path := actionRoute(k, ns, name, key)
	if path == "" {
		return "", fmt.Errorf("the Haul server has no action for annotation %s on a %s", key, k.Singular)
	}
	var obj struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := postToServer(ctx, s, srv, path, nil, &obj); err != nil {
		return "", err
	}
	return obj.Metadata.Annotations[key], nil
}
