package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/haul-dev/haul/internal/testservers"
)

// Project is the demo project's name.
const Project = "demo"

// Demo is the running demo servers.
type Demo struct {
	Registry *testservers.Registry
	Git      *testservers.GitServer
	app      *http.Server
	State    *State
	flux     bool
}

// Options choose how the demo deploys its stages.
type Options struct {
	// Flux deploys each stage through Flux (whose controllers and CRDs the caller runs):
	// a namespace per stage, a GitRepository and a Kustomization per stage in
	// FluxNamespace, and a flux-reconcile step ending each promotion. Without it the
	// stage branches are rendered but nothing applies them.
	Flux bool
}

// Start starts the demo servers (on the addresses of the previous run, if any), pushes
// the released image versions, seeds the GitOps repository once and applies the demo
// project. It is safe to run again on the same data dir.
func Start(ctx context.Context, dataDir string, cfg *rest.Config, opts Options) (*Demo, error) {
	st, err := LoadState(dataDir)
	if err != nil {
		return nil, err
	}
	d := &Demo{State: st, flux: opts.Flux}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()
	if d.Registry, err = testservers.StartRegistryOn(addrOrAny(st.RegistryAddr)); err != nil {
		return nil, fmt.Errorf("starting the demo registry on %s: %w", st.RegistryAddr, err)
	}
	st.RegistryAddr = d.Registry.Host
	if d.Git, err = testservers.StartGitServerOn(filepath.Join(dataDir, "demo", "git"), addrOrAny(st.GitAddr)); err != nil {
		return nil, fmt.Errorf("starting the demo Git server on %s: %w", st.GitAddr, err)
	}
	st.GitAddr = strings.TrimPrefix(d.Git.URL, "http://")
	appLn, err := net.Listen("tcp", addrOrAny(st.AppAddr))
	if err != nil {
		return nil, fmt.Errorf("starting the demo app on %s: %w", st.AppAddr, err)
	}
	st.AppAddr = appLn.Addr().String()
	d.app = &http.Server{Handler: appHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = d.app.Serve(appLn) }()

	if len(st.Versions) == 0 {
		for _, v := range InitialVersions {
			st.AddVersion(v)
		}
	}
	for _, v := range st.Versions {
		if _, err := PushVersion(st.RegistryAddr, v); err != nil {
			return nil, err
		}
	}
	if err := st.Save(dataDir); err != nil {
		return nil, err
	}
	image := st.RegistryAddr + "/" + ImageRepo
	if _, err := os.Stat(filepath.Join(d.Git.Root, "gitops.git")); os.IsNotExist(err) {
		if _, err := d.Git.SeedRepo("gitops", gitopsFiles(image)); err != nil {
			return nil, fmt.Errorf("seeding the GitOps repository: %w", err)
		}
	}
	manifests, err := Manifests(image, d.Git.RepoURL("gitops"), "http://"+st.AppAddr, opts.Flux)
	if err != nil {
		return nil, err
	}
	if err := apply(ctx, cfg, manifests); err != nil {
		return nil, err
	}
	ok = true
	return d, nil
}

// Close stops the demo servers.
func (d *Demo) Close() {
	if d.app != nil {
		_ = d.app.Close()
	}
	if d.Git != nil {
		_ = d.Git.Close()
	}
	if d.Registry != nil {
		_ = d.Registry.Close()
	}
}

// Print says where the demo's pieces are.
func (d *Demo) Print(out io.Writer, dataDir string) {
	fmt.Fprintf(out, "\nDemo project %q: Warehouse guestbook → stages test → uat → prod (auto-promotion on).\n", Project)
	fmt.Fprintf(out, "  Registry:        %s/%s (tags %s)\n", d.State.RegistryAddr, ImageRepo, strings.Join(d.State.Versions, ", "))
	fmt.Fprintf(out, "  GitOps repo:     %s (branches stage/test, stage/uat, stage/prod)\n", d.Git.RepoURL("gitops"))
	if d.flux {
		fmt.Fprintf(out, "  Flux:            Kustomizations %s/guestbook-<stage> apply stage/<stage> into namespace guestbook-<stage>; Stage health comes from them\n", FluxNamespace)
	}
	fmt.Fprintf(out, "  Release a version: haul demo release --data-dir %s\n", dataDir)
}

func addrOrAny(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

// appHandler is the "guestbook" the demo verifies against: healthy in every stage.
func appHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","stage":%q}`, r.URL.Query().Get("stage")) //nolint:gosec // G705: a JSON body (application/json) with the value quoted
	})
	return mux
}

// apply server-side applies the demo manifests, creating the Project first and waiting
// for its namespace (made by the Project controller).
func apply(ctx context.Context, cfg *rest.Config, manifests []byte) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(manifests)), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("decoding demo manifests: %w", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	for i, u := range objs {
		if i == 1 { // after the Project: wait for its namespace
			if err := waitNamespace(ctx, c, Project); err != nil {
				return err
			}
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("haul-demo"), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

func waitNamespace(ctx context.Context, c client.Client, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		ns := &corev1.Namespace{}
		err := c.Get(ctx, client.ObjectKey{Name: name}, ns)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("waiting for namespace %s (created by the Project controller): %w", name, err)
	}
	return nil
}
