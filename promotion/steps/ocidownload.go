package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/haul-dev/haul/promotion"
)

// ociMaxLayerSize caps the layer oci-download saves (Kargo's limit); a variable so
// that tests can lower it.
var ociMaxLayerSize int64 = 100 << 20

type ociDownloadConfig struct {
	ImageRef              string `json:"imageRef"`
	OutPath               string `json:"outPath"`
	AllowOverwrite        bool   `json:"allowOverwrite,omitempty"`
	MediaType             string `json:"mediaType,omitempty"`
	InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify,omitempty"`
}

// ociDownload saves one layer of an OCI artifact or image (the first, or the first of
// mediaType) to outPath, as stored: a Helm chart's layer is its .tgz, an image layer
// its compressed tarball. As Kargo's step: an existing file is an error unless
// allowOverwrite is set. Layers above ociMaxLayerSize are refused before any byte is
// read (by the size in the manifest) and while reading (in case the registry lies);
// the blob is written to a scratch file and renamed, so a failure never leaves half a
// file at outPath.
func ociDownload(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg ociDownloadConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	out, err := sc.Path("outPath", cfg.OutPath)
	if err != nil {
		return promotion.StepResult{}, err
	}
	if fi, err := os.Lstat(out); err == nil {
		if !fi.Mode().IsRegular() {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("outPath %q exists and is not a regular file", cfg.OutPath))
		}
		if !cfg.AllowOverwrite {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("outPath %q already exists; set allowOverwrite to replace it", cfg.OutPath))
		}
	}
	r, err := parseOCIRef("imageRef", cfg.ImageRef)
	if err != nil {
		return promotion.StepResult{}, err
	}
	opts, haveCreds, err := ociOptions(ctx, sc, r, cfg.InsecureSkipTLSVerify)
	if err != nil {
		return promotion.StepResult{}, err
	}
	doing := fmt.Sprintf("pulling %s", cfg.ImageRef)
	img, err := remote.Image(r.ref, opts...)
	if err != nil {
		return promotion.StepResult{}, ociError(doing, r, haveCreds, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return promotion.StepResult{}, ociError(doing, r, haveCreds, err)
	}
	desc, err := pickLayer(m, cfg.MediaType)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: %w", doing, err))
	}
	if desc.Size > ociMaxLayerSize {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: layer %s is %d bytes, larger than the limit of %d", doing, desc.Digest, desc.Size, ociMaxLayerSize))
	}
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return promotion.StepResult{}, ociError(doing, r, haveCreds, err)
	}
	body, err := layer.Compressed()
	if err != nil {
		return promotion.StepResult{}, ociError(doing, r, haveCreds, err)
	}
	defer func() { _ = body.Close() }()

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating the directory of %s: %w", cfg.OutPath, stripPath(err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".download-")
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("creating %s: %w", cfg.OutPath, stripPath(err))
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	n, err := io.Copy(tmp, io.LimitReader(body, ociMaxLayerSize+1))
	if err != nil {
		// go-containerregistry checks the digest as the blob is read.
		return promotion.StepResult{}, ociError(doing, r, haveCreds, stripPath(err))
	}
	if n > ociMaxLayerSize {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: layer %s is larger than the limit of %d bytes", doing, desc.Digest, ociMaxLayerSize))
	}
	if err := tmp.Chmod(0o644); err != nil {
		return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
	}
	if err := tmp.Close(); err != nil {
		return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return promotion.StepResult{}, fmt.Errorf("writing %s: %w", cfg.OutPath, stripPath(err))
	}
	return promotion.StepResult{}, nil
}

// pickLayer returns the first layer of m, or the first of mediaType when it is set.
func pickLayer(m *v1.Manifest, mediaType string) (v1.Descriptor, error) {
	if len(m.Layers) == 0 {
		return v1.Descriptor{}, fmt.Errorf("the manifest has no layers")
	}
	if mediaType == "" {
		return m.Layers[0], nil
	}
	for _, l := range m.Layers {
		if string(l.MediaType) == mediaType {
			return l, nil
		}
	}
	var have []string
	for _, l := range m.Layers {
		have = append(have, string(l.MediaType))
	}
	return v1.Descriptor{}, fmt.Errorf("no layer has mediaType %q (the layers are %q)", mediaType, have)
}
