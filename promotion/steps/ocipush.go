package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/haul-dev/haul/promotion"
)

// ociPushMaxSize caps the compressed size (config and layers, summed over an index's
// images) that oci-push copies between repositories, Kargo's default; a variable so
// that tests can lower it. A retag within one repository moves no blobs and is not
// capped.
var ociPushMaxSize int64 = 1 << 30

type ociPushConfig struct {
	SrcRef                string            `json:"srcRef"`
	DestRef               string            `json:"destRef"`
	Annotations           map[string]string `json:"annotations,omitempty"`
	InsecureSkipTLSVerify bool              `json:"insecureSkipTLSVerify,omitempty"`
}

// Validate checks that destRef names a tag, as Kargo's schema requires.
func (c *ociPushConfig) Validate() error {
	dest := strings.TrimPrefix(c.DestRef, "oci://")
	if strings.Contains(dest, "@") {
		return fmt.Errorf("destRef %q must name a tag (registry/repository:tag), not a digest", c.DestRef)
	}
	for k := range c.Annotations {
		if k == "" || k == "index:" || k == "manifest:" {
			return fmt.Errorf("annotations: key %q names no annotation", k)
		}
	}
	return nil
}

// ociPush copies an image, an image index or another OCI artifact (a Helm chart) from
// srcRef to destRef, or retags it when both are in one repository, optionally adding
// annotations. Keys prefixed "index:" go on an index's own manifest, all others
// ("manifest:" or none) on each image manifest; for a single image "index:" keys are
// ignored. Outputs are Kargo's: image (destRef as pushed), digest and tag.
func ociPush(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg ociPushConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	src, err := parseOCIRef("srcRef", cfg.SrcRef)
	if err != nil {
		return promotion.StepResult{}, err
	}
	dst, err := parseOCIRef("destRef", cfg.DestRef)
	if err != nil {
		return promotion.StepResult{}, err
	}
	tag, ok := dst.ref.(name.Tag)
	if !ok {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("destRef %q must name a tag", cfg.DestRef))
	}
	srcOpts, srcCreds, err := ociOptions(ctx, sc, src, cfg.InsecureSkipTLSVerify)
	if err != nil {
		return promotion.StepResult{}, err
	}
	dstOpts, dstCreds, err := ociOptions(ctx, sc, dst, cfg.InsecureSkipTLSVerify)
	if err != nil {
		return promotion.StepResult{}, err
	}
	reading := fmt.Sprintf("reading %s", cfg.SrcRef)
	desc, err := remote.Get(src.ref, srcOpts...)
	if err != nil {
		return promotion.StepResult{}, ociError(reading, src, srcCreds, err)
	}
	indexAnns, manifestAnns := splitAnnotations(cfg.Annotations)
	pushing := fmt.Sprintf("pushing %s", cfg.DestRef)
	crossRepo := src.ref.Context().String() != dst.ref.Context().String()

	var digest v1.Hash
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return promotion.StepResult{}, ociError(reading, src, srcCreds, err)
		}
		if crossRepo {
			if err := capIndex(idx, cfg.SrcRef); err != nil {
				return promotion.StepResult{}, err
			}
		}
		if idx, err = annotateIndex(idx, indexAnns, manifestAnns); err != nil {
			return promotion.StepResult{}, ociError(reading, src, srcCreds, err)
		}
		if err := remote.WriteIndex(tag, idx, dstOpts...); err != nil {
			return promotion.StepResult{}, ociError(pushing, dst, dstCreds, err)
		}
		if digest, err = idx.Digest(); err != nil {
			return promotion.StepResult{}, err
		}
	case desc.MediaType.IsImage():
		// Images and artifacts with an image manifest (a Helm chart).
		img, err := desc.Image()
		if err != nil {
			return promotion.StepResult{}, ociError(reading, src, srcCreds, err)
		}
		if crossRepo {
			size, err := imageSize(img)
			if err != nil {
				return promotion.StepResult{}, ociError(reading, src, srcCreds, err)
			}
			if size > ociPushMaxSize {
				return promotion.StepResult{}, tooLarge(cfg.SrcRef, size)
			}
		}
		if len(manifestAnns) > 0 {
			img = mutate.Annotations(img, manifestAnns).(v1.Image)
		}
		if err := remote.Write(tag, img, dstOpts...); err != nil {
			return promotion.StepResult{}, ociError(pushing, dst, dstCreds, err)
		}
		if digest, err = img.Digest(); err != nil {
			return promotion.StepResult{}, err
		}
	default:
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: media type %q is neither an image, an index nor an OCI artifact", reading, desc.MediaType))
	}
	return promotion.StepResult{Output: map[string]any{
		"image":  tag.String(),
		"digest": digest.String(),
		"tag":    tag.TagStr(),
	}}, nil
}

// splitAnnotations sorts annotation keys by their scope prefix.
func splitAnnotations(anns map[string]string) (index, manifest map[string]string) {
	index, manifest = map[string]string{}, map[string]string{}
	for k, v := range anns {
		if rest, ok := strings.CutPrefix(k, "index:"); ok {
			index[rest] = v
			continue
		}
		manifest[strings.TrimPrefix(k, "manifest:")] = v
	}
	return index, manifest
}

// annotateIndex adds index annotations to idx and manifest annotations to each image
// it lists. Annotating an image changes its digest, so the index is rebuilt with the
// annotated images in the same order, keeping each entry's platform and annotations.
func annotateIndex(idx v1.ImageIndex, indexAnns, manifestAnns map[string]string) (v1.ImageIndex, error) {
	if len(manifestAnns) > 0 {
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		out := mutate.IndexMediaType(empty.Index, im.MediaType)
		for _, d := range im.Manifests {
			entry := v1.Descriptor{MediaType: d.MediaType, Platform: d.Platform, Annotations: d.Annotations, URLs: d.URLs, ArtifactType: d.ArtifactType}
			add := mutate.IndexAddendum{Descriptor: entry}
			if d.MediaType.IsImage() {
				img, err := idx.Image(d.Digest)
				if err != nil {
					return nil, err
				}
				add.Add = mutate.Annotations(img, manifestAnns).(v1.Image)
			} else {
				child, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return nil, err
				}
				add.Add = child
			}
			out = mutate.AppendManifests(out, add)
		}
		if len(im.Annotations) > 0 {
			out = mutate.Annotations(out, im.Annotations).(v1.ImageIndex)
		}
		idx = out
	}
	if len(indexAnns) > 0 {
		idx = mutate.Annotations(idx, indexAnns).(v1.ImageIndex)
	}
	return idx, nil
}

// imageSize is the compressed size of img's config and layers, from its manifest.
func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	total := m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}

// capIndex refuses an index whose images add up to more than ociPushMaxSize.
func capIndex(idx v1.ImageIndex, src string) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	var total int64
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("reading %s: image %s: %w", src, d.Digest, err)
		}
		size, err := imageSize(img)
		if err != nil {
			return fmt.Errorf("reading %s: image %s: %w", src, d.Digest, err)
		}
		total += size
	}
	if total > ociPushMaxSize {
		return tooLarge(src, total)
	}
	return nil
}

func tooLarge(src string, size int64) error {
	return promotion.Terminal(fmt.Errorf("%s is %d bytes compressed, larger than the limit of %d for a copy between repositories (a retag within one repository is not limited)", src, size, ociPushMaxSize))
}
