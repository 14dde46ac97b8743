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
	opts    Options
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
	return NewHandlerWith(c, secrets, Options{})
}

// Options configure a Handler.
type Options struct {
	// ClusterSecretsNamespace holds the Secrets of the ClusterConfig's receivers (Haul's
	// shared credentials namespace). Empty: cluster receivers have no Secret and answer
	// every request with 401.
	ClusterSecretsNamespace string
}

// NewHandlerWith is NewHandlerFor with options.
func NewHandlerWith(c client.Client, secrets client.Reader, opts Options) http.Handler {
	return &Handler{c: c, secrets: secrets, opts: opts, now: time.Now, seen: map[string]time.Time{}}
}

// receiverConfig is a receiver found for a request path.
type receiverConfig struct {
	provider, secret, virtualRepo string
	generic                       *haulv1.GenericWebhookProvider
	// project scopes everything the receiver touches; "" for a ClusterConfig receiver,
	// which acts in every project.
	project string
	// key names the receiver in replay keys and logs: <project>/<name> or -/cluster/<name>.
	key string
}

type response struct {
	// Refreshed are the Warehouses refreshed, as name (or namespace/name for a
	// ClusterConfig receiver).
	Refreshed []string `json:"refreshed,omitempty"`
	// Woken are the Promotions woken by a pull request event.
	Woken   []string `json:"woken,omitempty"`
	Message string   `json:"message,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, r response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = jsonEncode(w, r)
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, response{Message: "use POST"})
		return
	}
	project, receiver, ok := parsePath(r.URL.Path)
	clusterName, cluster := parseClusterPath(r.URL.Path)
	if !ok && !cluster {
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
	var rc receiverConfig
	var status int
	if cluster {
		rc, status = h.clusterReceiver(ctx, clusterName)
	} else {
		rc, status = h.receiver(ctx, project, receiver)
	}
	if status != 0 {
		writeJSON(w, status, response{Message: http.StatusText(status)})
		return
	}
	provider, project, receiver := rc.provider, rc.project, rc.key
	if err := authenticate(provider, r, body, rc.secret); err != nil {
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
	if id := deliveryID(provider, r); id != "" && h.replayed(receiver+"/"+id) {
		writeJSON(w, http.StatusBadRequest, response{Message: "delivery already handled"})
		return
	}
	if rc.generic != nil && len(rc.generic.Actions) > 0 {
		h.serveActions(ctx, w, r, rc, body)
		return
	}
	if isPullRequestEvent(provider, r, body) {
		h.servePullRequest(ctx, w, r, provider, project, receiver, body)
		return
	}
	urls, err := receiverURLs(provider, rc.virtualRepo, body)
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
		log.FromContext(ctx).Error(err, "Refreshing Warehouses from a webhook", "receiver", receiver)
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
		log.FromContext(ctx).Error(err, "Waking Promotions from a pull request webhook", "receiver", receiver)
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

// parseClusterPath reads /webhooks/-/cluster/<name>, where ClusterConfig receivers listen.
func parseClusterPath(p string) (string, bool) {
	name, ok := strings.CutPrefix(p, haulv1.ClusterWebhookReceiverPathPrefix)
	name = strings.TrimSuffix(name, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// receiver finds the receiver and its secret. The status is non-zero on failure; an
// unknown project and an unknown receiver look the same from outside.
func (h *Handler) receiver(ctx context.Context, project, name string) (receiverConfig, int) {
	pc := &haulv1.ProjectConfig{}
	if err := h.c.Get(ctx, client.ObjectKey{Namespace: project, Name: project}, pc); err != nil {
		if apierrors.IsNotFound(err) {
			return receiverConfig{}, http.StatusNotFound
		}
		return receiverConfig{}, http.StatusServiceUnavailable
	}
	return h.find(ctx, pc.Spec.WebhookReceivers, name, project, project, project+"/"+name)
}

// clusterReceiver finds a ClusterConfig receiver; its Secret lives in the cluster
// secrets namespace, and it acts in every project.
func (h *Handler) clusterReceiver(ctx context.Context, name string) (receiverConfig, int) {
	cc := &haulv1.ClusterConfig{}
	if err := h.c.Get(ctx, client.ObjectKey{Name: haulv1.ClusterConfigName}, cc); err != nil {
		if apierrors.IsNotFound(err) {
			return receiverConfig{}, http.StatusNotFound
		}
		return receiverConfig{}, http.StatusServiceUnavailable
	}
	return h.find(ctx, cc.Spec.WebhookReceivers, name, h.opts.ClusterSecretsNamespace, "", "-/cluster/"+name)
}

func (h *Handler) find(ctx context.Context, receivers []haulv1.WebhookReceiver, name, secretNS, project, key string) (receiverConfig, int) {
	for _, rc := range receivers {
		if rc.Name != name {
			continue
		}
		provider, secretName := providerOf(rc)
		sec := &corev1.Secret{}
		if secretNS == "" {
			return receiverConfig{}, http.StatusUnauthorized
		}
		if err := h.secrets.Get(ctx, client.ObjectKey{Namespace: secretNS, Name: secretName}, sec); err != nil {
			// Without its secret the receiver cannot verify anything: refuse.
			return receiverConfig{}, http.StatusUnauthorized
		}
		out := receiverConfig{provider: provider, secret: string(sec.Data["secret"]), generic: rc.Generic, project: project, key: key}
		if rc.Artifactory != nil {
			out.virtualRepo = rc.Artifactory.VirtualRepoName
			if out.secret == "" {
				out.secret = string(sec.Data["secret-token"]) // Kargo's key for Artifactory
			}
		}
		return out, 0
	}
	return receiverConfig{}, http.StatusNotFound
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

// refresh sets a new refresh value on every Warehouse of the project (of every project
// when project is "") subscribed to one of urls, and returns their names (namespace/name
// across projects).
func (h *Handler) refresh(ctx context.Context, project string, urls []string) ([]string, error) {
	want := map[string]bool{}
	for _, u := range urls {
		if n := warehouse.NormalizeRepoURL(u); n != "" {
			want[n] = true
		}
	}
	var list haulv1.WarehouseList
	if err := h.c.List(ctx, &list, scope(project)...); err != nil {
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
		refreshed = append(refreshed, displayName(project, wh))
	}
	return refreshed, nil
}

// scope lists in the project, or in every namespace for a ClusterConfig receiver.
func scope(project string) []client.ListOption {
	if project == "" {
		return nil
	}
	return []client.ListOption{client.InNamespace(project)}
}

// displayName is an object's name in an answer: namespace/name when the receiver acts
// in every project.
func displayName(project string, o client.Object) string {
	if project == "" {
		return o.GetNamespace() + "/" + o.GetName()
	}
	return o.GetName()
}

// refreshPatch sets a new haul.dev/refresh value.
func refreshPatch(value string) client.Patch {
	return client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"`+haulv1.AnnotationRefresh+`":"`+value+`"}}}`))
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
