package testservers

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is an in-process OCI registry on 127.0.0.1.
type Registry struct {
	Host string // 127.0.0.1:<port>
	srv  *http.Server
	// Wrap, when set, sees every request first (to inject faults such as 429 or 500).
	Wrap func(http.Handler) http.Handler
}

// StartRegistry starts a registry on a free port.
func StartRegistry() (*Registry, error) { return StartRegistryOn("127.0.0.1:0") }

// StartRegistryOn starts a registry on addr.
func StartRegistryOn(addr string) (*Registry, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: ln.Addr().String()}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.Wrap != nil {
			r.Wrap(inner).ServeHTTP(w, req)
			return
		}
		inner.ServeHTTP(w, req)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Close stops the registry.
func (r *Registry) Close() error { return r.srv.Close() }

// Repo returns the full repository name, e.g. 127.0.0.1:5000/demo/guestbook.
func (r *Registry) Repo(repo string) string { return r.Host + "/" + strings.TrimPrefix(repo, "/") }

// ImageOptions shape a pushed test image.
type ImageOptions struct {
	// Created, when non-zero, sets the config creation time.
	Created time.Time
	// Annotations are set on the manifest (e.g. org.opencontainers.image.created).
	Annotations map[string]string
	// Platform sets the config's os/architecture.
	Platform *v1.Platform
}

// RandomImage builds a small random image shaped by opts.
func RandomImage(opts ImageOptions) (v1.Image, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: opts.Created}
	if opts.Platform != nil {
		cf.OS, cf.Architecture, cf.Variant = opts.Platform.OS, opts.Platform.Architecture, opts.Platform.Variant
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	if len(opts.Annotations) > 0 {
		img = mutate.Annotations(img, opts.Annotations).(v1.Image)
	}
	return img, nil
}

// PushImage pushes a random image as repo:tag and returns its digest.
func (r *Registry) PushImage(repo, tag string, opts ImageOptions) (string, error) {
	img, err := RandomImage(opts)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(r.Repo(repo)+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	return d.String(), err
}

// PushIndex pushes a multi-arch index with one random image per platform and returns its digest.
func (r *Registry) PushIndex(repo, tag string, platforms []v1.Platform, opts ImageOptions) (string, error) {
	var adds []mutate.IndexAddendum
	for i := range platforms {
		p := platforms[i]
		o := opts
		o.Platform = &p
		img, err := RandomImage(o)
		if err != nil {
			return "", err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(emptyIndex(), adds...)
	ref, err := name.ParseReference(r.Repo(repo)+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		return "", fmt.Errorf("pushing index %s: %w", ref, err)
	}
	d, err := idx.Digest()
	return d.String(), err
}
