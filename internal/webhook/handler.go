package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/warehouse"
)

// PathPrefix is where receivers are served.
const PathPrefix = haulv1.WebhookReceiverPathPrefix

// MaxBodyBytes caps a webhook payload; GitHub's own limit is 25 MB but push payloads
// that matter here are far smaller.
const MaxBodyBytes = 1 << 20

// readTimeout bounds reading one request body (slow-loris uploads) when the server's
// own ReadTimeout is longer or unset.
const readTimeout = 30 * time.Second

// Handler serves webhook receivers.
type Handler struct {
	c       client.Client
	secrets client.Reader
	now     func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // delivery id → when seen, for replay rejection
}

// NewHandler returns the receiver endpoint; mount it at PathPrefix. c reads
// ProjectConfigs, Secrets and Warehouses and patches Warehouse annotations.
func NewHandler(c client.Client) http.Handler {
	return NewHandlerFor(c, c)
}

// NewHandlerFor is NewHandler reading receiver Secrets through secrets, e.g. a
// manager's API reader, so that serving webhooks does not cache every Secret.
func NewHandlerFor(c client.Client, secrets client.Reader) http.Handler {
	return &Handler{c: c, secrets: secrets, now: time.Now, seen: map[string]time.Time{}}
}

type response struct {
	Refreshed []string `json:"refreshed,omitempty"`
	// Woken are the Promotions woken by a pull request event.
	Woken   []string `json:"woken,omitempty"`
	Message string   `json:"message,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, r response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, response{Message: "use POST"})
		return
	}
	project, receiver, ok := parsePath(r.URL.Path)
	if !ok {
		writeJSON(w, http.StatusNotFound, response{Message: "no such receiver"})
		return
	}
	// Cap and bound the body before doing anything else with the request: by the
	// server's ReadTimeout when it is set and shorter (a read deadline set here would
	// replace the server's, so never set a later one), by readTimeout otherwise.
	if srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server); srv == nil || srv.ReadTimeout <= 0 || srv.ReadTimeout > readTimeout {
		_ = http.NewResponseController(w).SetReadDeadline(h.now().Add(readTimeout))
	}
	if r.ContentLength > MaxBodyBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, response{Message: "body too large"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, response{Message: "body too large"})
			return
		}
		writeJSON(w, http.StatusBadRequest, response{Message: "could not read body"})
		return
	}
	ctx := r.Context()
	provider, secret, virtualRepo, status := h.receiver(ctx, project, receiver)
	if status != 0 {
		writeJSON(w, status, response{Message: http.StatusText(status)})
		return
	}
	if err := authenticate(provider, r, body, secret); err != nil {
		writeJSON(w, http.StatusUnauthorized, response{Message: err.Error()})
		return
	}
	if err := checkEvent(provider, r); err != nil {
		if errors.Is(err, errIgnoredEvent) {
			writeJSON(w, http.StatusOK, response{Message: "event ignored"})
			return
		}
		writeJSON(w, http.StatusBadRequest, response{Message: err.Error()})
		return
	}
	if id := deliveryID(provider, r); id != "" && h.replayed(project+"/"+receiver+"/"+id) {
		writeJSON(w, http.StatusBadRequest, response{Message: "delivery already handled"})
		return
	}
	if isPullRequestEvent(provider, r, body) {
		h.servePullRequest(ctx, w, r, provider, project, receiver, body)
		return
	}
	urls, err := receiverURLs(provider, virtualRepo, body)
	if errors.Is(err, errIgnoredEvent) {
		writeJSON(w, http.StatusOK, response{Message: "event ignored"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, response{Message: err.Error()})
		return
	}
	refreshed, err := h.refresh(ctx, project, urls)
	if err != nil {
		log.FromContext(ctx).Error(err, "Refreshing Warehouses from a webhook", "project", project, "receiver", receiver)
		writeJSON(w, http.StatusInternalServerError, response{Message: "refreshing Warehouses failed"})
		return
	}
	writeJSON(w, http.StatusOK, response{Refreshed: refreshed, Message: "ok"})
}

// servePullRequest wakes the Promotions waiting on a pull request that was merged
// or closed; other pull request actions (opened, edited, ...) are ignored.
func (h *Handler) servePullRequest(ctx context.Context, w http.ResponseWriter, r *http.Request, provider, project, receiver string, body []byte) {
	ev, err := pullRequestEvent(provider, r, body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, response{Message: err.Error()})
		return
	}
	if !ev.ended {
		writeJSON(w, http.StatusOK, response{Message: "event ignored: the pull request was neither merged nor closed"})
		return
	}
	woken, err := h.wakePromotions(ctx, project, ev.urls)
	if err != nil {
		log.FromContext(ctx).Error(err, "Waking Promotions from a pull request webhook", "project", project, "receiver", receiver)
		writeJSON(w, http.StatusInternalServerError, response{Message: "waking Promotions failed"})
		return
	}
	writeJSON(w, http.StatusOK, response{Woken: woken, Message: "ok"})
}

func parsePath(p string) (string, string, bool) {
	rest, ok := strings.CutPrefix(p, PathPrefix)
	if !ok {
		return "", "", false
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// receiver finds the receiver and its secret. The status is non-zero on failure; an
// unknown project and an unknown receiver look the same from outside.
func (h *Handler) receiver(ctx context.Context, project, name string) (string, string, string, int) {
	pc := &haulv1.ProjectConfig{}
	if err := h.c.Get(ctx, client.ObjectKey{Namespace: project, Name: project}, pc); err != nil {
		if apierrors.IsNotFound(err) {
			return "", "", "", http.StatusNotFound
		}
		return "", "", "", http.StatusServiceUnavailable
	}
	for _, rc := range pc.Spec.WebhookReceivers {
		if rc.Name != name {
			continue
		}
		provider, secretName := providerOf(rc)
		sec := &corev1.Secret{}
		if err := h.secrets.Get(ctx, client.ObjectKey{Namespace: project, Name: secretName}, sec); err != nil {
			// Without its secret the receiver cannot verify anything: refuse.
			return "", "", "", http.StatusUnauthorized
		}
		secret := string(sec.Data["secret"])
		virtualRepo := ""
		if rc.Artifactory != nil {
			virtualRepo = rc.Artifactory.VirtualRepoName
			if secret == "" {
				secret = string(sec.Data["secret-token"]) // Kargo's key for Artifactory
			}
		}
		return provider, secret, virtualRepo, 0
	}
	return "", "", "", http.StatusNotFound
}

// replayed remembers delivery ids for an hour.
func (h *Handler) replayed(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if len(h.seen) > 10000 {
		for k, t := range h.seen {
			if now.Sub(t) > time.Hour {
				delete(h.seen, k)
			}
		}
	}
	if t, ok := h.seen[key]; ok && now.Sub(t) < time.Hour {
		return true
	}
	h.seen[key] = now
	return false
}

// refresh sets a new refresh value on every Warehouse of the project subscribed to one
// of urls, and returns their names.
func (h *Handler) refresh(ctx context.Context, project string, urls []string) ([]string, error) {
	want := map[string]bool{}
	for _, u := range urls {
		if n := warehouse.NormalizeRepoURL(u); n != "" {
			want[n] = true
		}
	}
	var list haulv1.WarehouseList
	if err := h.c.List(ctx, &list, client.InNamespace(project)); err != nil {
		return nil, err
	}
	value := h.now().UTC().Format(time.RFC3339Nano)
	var refreshed []string
	for i := range list.Items {
		wh := &list.Items[i]
		if !subscribes(wh, want) {
			continue
		}
		patch := client.RawPatch("application/merge-patch+json",
			[]byte(`{"metadata":{"annotations":{"`+haulv1.AnnotationRefresh+`":"`+value+`"}}}`))
		if err := h.c.Patch(ctx, wh, patch); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return refreshed, err
		}
		refreshed = append(refreshed, wh.Name)
	}
	return refreshed, nil
}

func subscribes(wh *haulv1.Warehouse, want map[string]bool) bool {
	for _, s := range wh.Spec.Subscriptions {
		var u string
		switch {
		case s.Image != nil:
			u = s.Image.RepoURL
		case s.Git != nil:
			u = s.Git.RepoURL
		case s.Chart != nil:
			u = s.Chart.RepoURL
		}
		if want[warehouse.NormalizeRepoURL(u)] {
			return true
		}
	}
	return false
}
