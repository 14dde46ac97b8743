package controlplane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Versions of the binaries built by hack/controlplane/build.sh; the cache directory is
// keyed by them so that a version bump never reuses stale binaries.
const (
	KubernetesVersion = "v1.37.1"
	EtcdVersion       = "v3.6.7"
)

// AssetsEnv names the environment variable that points at a directory holding
// kube-apiserver and etcd.
const AssetsEnv = "HAUL_CONTROLPLANE_ASSETS"

// BuildHint is the command that produces the binaries when they are missing.
const BuildHint = "make controlplane (or hack/controlplane/build.sh)"

// CacheDir is where hack/controlplane/build.sh puts the binaries.
func CacheDir() string {
	root := os.Getenv("HAUL_CACHE_DIR")
	if root == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		root = filepath.Join(base, "haul")
	}
	return filepath.Join(root, "controlplane", "k8s-"+KubernetesVersion+"-etcd-"+EtcdVersion)
}

// FindAssets returns the directory holding kube-apiserver and etcd: the explicit
// directory if given, else $HAUL_CONTROLPLANE_ASSETS, else the build cache.
func FindAssets(explicit string) (string, error) {
	dir, source := explicit, "--controlplane-assets"
	if dir == "" {
		dir, source = os.Getenv(AssetsEnv), AssetsEnv
	}
	if dir == "" {
		dir, source = CacheDir(), "the build cache"
	}
	var missing []string
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(dir, bin)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 { //nolint:gosec // G703: the operator's own binary directory
			missing = append(missing, bin)
		}
	}
	if len(missing) > 0 {
		return "", &MissingAssetsError{Dir: dir, Source: source, Missing: missing}
	}
	return dir, nil
}

// MissingAssetsError says which binaries are missing and how to build them.
type MissingAssetsError struct {
	Dir     string
	Source  string
	Missing []string
}

func (e *MissingAssetsError) Error() string {
	return fmt.Sprintf("control-plane binaries %v not found in %s (from %s); build them with: %s",
		e.Missing, e.Dir, e.Source, BuildHint)
}

// IsMissingAssets reports whether err is a MissingAssetsError.
func IsMissingAssets(err error) bool {
	var m *MissingAssetsError
	return errors.As(err, &m)
}
