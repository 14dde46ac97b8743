package demo

import (
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageRepo is the demo image's repository path in the local registry.
const ImageRepo = "demo/guestbook"

// guestbookImage builds the image for a version deterministically: the same version
// always has the same digest, so re-pushing after a restart makes no new Freight.
func guestbookImage(version string) (v1.Image, error) {
	layer := static.NewLayer([]byte("guestbook "+version+"\n"), types.OCILayer)
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.version": version}
	return mutate.ConfigFile(img, cf)
}

// PushVersion pushes the guestbook image for version to the registry at host.
func PushVersion(host, version string) (string, error) {
	img, err := guestbookImage(version)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", host, ImageRepo, version), name.Insecure)
	if err != nil {
		return "", fmt.Errorf("version %q: %w", version, err)
	}
	if err := remote.Write(ref, img); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	return d.String(), err
}
