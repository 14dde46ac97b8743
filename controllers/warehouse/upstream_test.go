package warehouse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/warehouse"
)

// logBuffer collects what the controller logs.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) write(prefix, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(prefix + " " + args + "\n")
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLoggedController is startController with the manager's log captured and the
// discovery library built from dopts (a clock, rate-limit options).
func startLoggedController(t *testing.T, ns string, dopts warehouse.Options) *logBuffer {
	t.Helper()
	logs := &logBuffer{}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Logger:                 funcr.New(logs.write, funcr.Options{Verbosity: 1}),
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	dopts.CacheDir = t.TempDir()
	r := NewReconciler(mgr, Options{CacheDir: dopts.CacheDir})
	r.Discoverer = warehouse.New(dopts)
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	startManager(t, mgr)
	return logs
}

// TestRegistryEchoingAuthorizationLeaksNoCredentials: a registry on 127.0.0.1 answers
// every authenticated request 401 with an error page that repeats the request's
// Authorization header and the password it decodes from it. Neither the base64
// credentials nor the password reach Warehouse status or the controller's log.
func TestRegistryEchoingAuthorizationLeaksNoCredentials(t *testing.T) {
	ns := env.Namespace(t, "wh-echo")
	const user, password = "robot", "registry-pass-4711"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	reg := startRegistry(t)
	push(t, reg, "private", "1.0.0")
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			auth := r.Header.Get("Authorization")
			if auth == "" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			_, pass, _ := r.BasicAuth()
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprintf(w, "denied: you sent Authorization: %s (password %s)", auth, pass)
		})
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "registry", Labels: map[string]string{haulv1.LabelCredType: "image"}},
		StringData: map[string]string{"repoURL": reg.Repo("private"), "username": user, "password": password},
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	logs := startLoggedController(t, ns, warehouse.Options{})
	createWarehouse(t, ns, "private", time.Hour, imageSub(reg.Repo("private")))
	var c *metav1.Condition
	eventually(t, 30*time.Second, "the 401 to show in status", func() bool {
		c = condition(getWarehouse(t, ns, "private"), haulv1.ConditionReady)
		return c != nil && c.Reason == haulv1.ReasonDiscoveryFailed && strings.Contains(c.Message, "401")
	})
	if !strings.Contains(c.Message, "denied: you sent Authorization: *** (password ***)") {
		t.Errorf("Ready message %q; want the echoed header shown masked", c.Message)
	}
	raw, _ := json.Marshal(getWarehouse(t, ns, "private").Status)
	eventually(t, 30*time.Second, "the failed reconcile to be logged", func() bool {
		return strings.Contains(logs.String(), "401")
	})
	for where, text := range map[string]string{"Warehouse status": string(raw), "controller log": logs.String()} {
		for _, leak := range []string{basic, password} {
			if strings.Contains(text, leak) {
				t.Errorf("%s shows %q:\n%s", where, leak, text)
			}
		}
	}
	// The failure is also a Warning Event, masked like the condition.
	ev := waitForEvent(t, ns, "private", haulv1.ReasonDiscoveryFailed)
	if ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Message, "denied: you sent Authorization: *** (password ***)") {
		t.Errorf("DiscoveryFailed event %s %q; want the echoed header shown masked", ev.Type, ev.Message)
	}
	checkNoLeak(t, ns, logs, []string{basic, password})
}

// TestRateLimitOnOneRepositoryKeepsOtherWarehousesOwnStatus: three Warehouses on one
// registry host. "limited" is answered 429 with a Retry-After of a day; the pause it
// causes is capped (MaxRetryAfter) and applies to the whole host, but the Warehouse
// that succeeded before keeps Ready=True and the one with its own error keeps that
// error; both only add Reconciling=WaitingForRateLimit naming the host and the time.
func TestRateLimitOnOneRepositoryKeepsOtherWarehousesOwnStatus(t *testing.T) {
	ns := env.Namespace(t, "wh-429")
	reg := startRegistry(t)
	push(t, reg, "limited", "1.0.0")
	push(t, reg, "good", "1.0.0")
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/limited/") {
				w.Header().Set("Retry-After", "86400")
				http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`, http.StatusTooManyRequests)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	// The discovery clock stands still, so the pause lasts for the whole test and its
	// end is known exactly.
	frozen := time.Now().UTC().Truncate(time.Second)
	const maxRetryAfter = 3 * time.Minute
	startLoggedController(t, ns, warehouse.Options{Now: func() time.Time { return frozen }, MaxRetryAfter: maxRetryAfter})

	createWarehouse(t, ns, "good", time.Hour, imageSub(reg.Repo("good")))
	createWarehouse(t, ns, "broken", time.Hour, imageSub(reg.Repo("missing")))
	eventually(t, 30*time.Second, "good to succeed and broken to fail on its own", func() bool {
		g := condition(getWarehouse(t, ns, "good"), haulv1.ConditionReady)
		b := condition(getWarehouse(t, ns, "broken"), haulv1.ConditionReady)
		return g != nil && g.Status == metav1.ConditionTrue && b != nil && b.Reason == haulv1.ReasonDiscoveryFailed
	})
	brokenMsg := condition(getWarehouse(t, ns, "broken"), haulv1.ConditionReady).Message

	createWarehouse(t, ns, "limited", time.Hour, imageSub(reg.Repo("limited")))
	var c *metav1.Condition
	eventually(t, 30*time.Second, "limited to be rate limited", func() bool {
		c = condition(getWarehouse(t, ns, "limited"), haulv1.ConditionReady)
		return c != nil && c.Reason == haulv1.ReasonRateLimited
	})
	if want := "retry after " + maxRetryAfter.String(); !strings.Contains(c.Message, want) {
		t.Errorf("limited: Ready message %q; want the day-long Retry-After capped (%q)", c.Message, want)
	}

	until := frozen.Add(maxRetryAfter).Format(time.RFC3339)
	wantWait := "waiting for rate limit on host " + reg.Host + " until " + until
	for _, name := range []string{"good", "broken"} {
		refresh(t, ns, name)
	}
	for name, want := range map[string]struct {
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		"good":   {metav1.ConditionTrue, haulv1.ReasonDiscoverySucceeded, ""},
		"broken": {metav1.ConditionFalse, haulv1.ReasonDiscoveryFailed, brokenMsg},
	} {
		var wh *haulv1.Warehouse
		eventually(t, 30*time.Second, name+" to wait for the host's pause", func() bool {
			wh = getWarehouse(t, ns, name)
			r := condition(wh, haulv1.ConditionReconciling)
			return r != nil && r.Reason == haulv1.ReasonWaitingForRateLimit
		})
		if r := condition(wh, haulv1.ConditionReconciling); r.Status != metav1.ConditionTrue || !strings.Contains(r.Message, wantWait) {
			t.Errorf("%s: Reconciling %s %q; want True containing %q", name, r.Status, r.Message, wantWait)
		}
		for _, typ := range []string{haulv1.ConditionReady, haulv1.ConditionHealthy} {
			got := condition(wh, typ)
			if got.Status != want.status || got.Reason != want.reason || (want.message != "" && got.Message != want.message) {
				t.Errorf("%s: %s is %s/%s %q; want its own last result %s/%s", name, typ, got.Status, got.Reason, got.Message, want.status, want.reason)
			}
		}
	}
}
