package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/server/auth"
)

// OIDCConfig configures OpenID Connect login; see auth.OIDCConfig.
type OIDCConfig = auth.OIDCConfig

// Config is what the server needs from `haul up` or `haul server`.
type Config struct {
	// RestConfig is the server's own identity. It needs to read Haul objects in all
	// namespaces, create SubjectAccessReviews and TokenReviews, and impersonate users.
	RestConfig *rest.Config
	// AdminToken is the local-mode token; it acts with RestConfig's rights. Empty
	// disables it (in-cluster).
	AdminToken string
	// OIDC enables login with an OpenID Connect provider; nil disables it.
	OIDC *OIDCConfig
	// UI serves the dashboard for every path outside /api and /auth; nil answers 404.
	UI http.Handler
	// ExternalURL is the URL browsers use to reach the server, e.g. https://haul.example.com.
	ExternalURL string
	Logger      logr.Logger
	// Context bounds the informers behind lists and events; nil means they run until
	// the process exits.
	Context context.Context
	// EventBuffer is how many recent change batches each project keeps for clients
	// resuming with Last-Event-ID (default 1024).
	EventBuffer int
	// Limits cap request bodies on every route; its timeouts are for the http.Server
	// that serves this handler (see Limits.HTTPServer). Zero fields take defaults.
	Limits Limits
	// Now is the clock for approvals, availability and promotion requests; time.Now
	// when nil. Tests replace it.
	Now func() time.Time
}

// now reads the server's clock.
func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Server is the REST API. It is an http.Handler.
type Server struct {
	cfg    Config
	ctx    context.Context
	log    logr.Logger
	scheme *runtime.Scheme
	client client.Client
	cache  cache.Cache
	access *access
	authn  *auth.Authenticator
	hub    *hub
	mux    *http.ServeMux
	origin string
	limits Limits
}

// New builds the API handler. It serves /api/v1/... and /auth/... and passes every
// other path to cfg.UI. Informers for lists and the event stream start immediately.
func New(cfg Config) (http.Handler, error) {
	return NewServer(cfg)
}

// NewServer is New returning the concrete type, for tests and benchmarks.
func NewServer(cfg Config) (*Server, error) {
	if cfg.RestConfig == nil {
		return nil, errors.New("server: RestConfig is required")
	}
	ctx := cfg.Context
	if ctx == nil {
		ctx = context.Background()
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := haulv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	httpClient, err := rest.HTTPClientFor(cfg.RestConfig)
	if err != nil {
		return nil, fmt.Errorf("building HTTP client: %w", err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg.RestConfig, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building REST mapper: %w", err)
	}
	opts := client.Options{Scheme: scheme, Mapper: mapper, HTTPClient: httpClient}
	c, err := client.New(cfg.RestConfig, opts)
	if err != nil {
		return nil, fmt.Errorf("building client: %w", err)
	}
	ca, err := cache.New(cfg.RestConfig, cache.Options{
		Scheme: scheme, Mapper: mapper, HTTPClient: httpClient,
		DefaultTransform: cache.TransformStripManagedFields(),
	})
	if err != nil {
		return nil, fmt.Errorf("building cache: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		ctx:    ctx,
		log:    cfg.Logger,
		scheme: scheme,
		client: c,
		cache:  ca,
		access: newAccess(cfg.RestConfig, client.Options{Scheme: scheme, Mapper: mapper}, c),
		authn: auth.New(auth.Options{
			AdminToken: cfg.AdminToken, OIDC: cfg.OIDC, ExternalURL: cfg.ExternalURL,
			TokenReviewer: auth.KubeTokenReviewer{Client: c}, Logger: cfg.Logger.WithName("auth"),
		}),
		mux:    http.NewServeMux(),
		limits: cfg.Limits.WithDefaults(),
	}
	if u, err := url.Parse(cfg.ExternalURL); err == nil && u.Host != "" {
		s.origin = u.Scheme + "://" + u.Host
	}
	s.hub = newHub(cfg.EventBuffer, s.log.WithName("events"))
	if err := s.hub.watch(ctx, ca, s.gvkFor); err != nil {
		return nil, err
	}
	go func() {
		if err := ca.Start(ctx); err != nil {
			s.log.Error(err, "Informer cache stopped")
		}
	}()
	go s.hub.run(ctx)
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/"),
		r.URL.Path == "/auth" || strings.HasPrefix(r.URL.Path, "/auth/"):
		s.limitBody(w, r)
		s.mux.ServeHTTP(w, r)
	case s.cfg.UI != nil:
		s.limitBody(w, r)
		s.cfg.UI.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// gvkFor returns the kind of a typed object; cached and listed objects carry none.
func (s *Server) gvkFor(obj runtime.Object) schema.GroupVersionKind {
	gvk, err := apiutil.GVKForObject(obj, s.scheme)
	if err != nil {
		return schema.GroupVersionKind{}
	}
	return gvk
}

// withKind sets apiVersion and kind on obj, which must be the caller's own copy.
func (s *Server) withKind(obj client.Object) client.Object {
	obj.GetObjectKind().SetGroupVersionKind(s.gvkFor(obj))
	obj.SetManagedFields(nil)
	return obj
}
