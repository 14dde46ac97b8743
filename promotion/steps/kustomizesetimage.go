package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/haul-dev/haul/promotion"
)

type kustomizeSetImageConfig struct {
	Path   string                   `json:"path"`
	Images []kustomizeImageOverride `json:"images,omitempty"`
}

type kustomizeImageOverride struct {
	Image   string `json:"image"`
	Tag     string `json:"tag,omitempty"`
	Digest  string `json:"digest,omitempty"`
	NewName string `json:"newName,omitempty"`
	Name    string `json:"name,omitempty"`
}

func (c *kustomizeSetImageConfig) Validate() error {
	for i, img := range c.Images {
		if img.Image == "" {
			return fmt.Errorf("images[%d].image must not be empty", i)
		}
		if img.Tag != "" && img.Digest != "" {
			return fmt.Errorf("images[%d]: set only one of tag and digest", i)
		}
	}
	return nil
}

var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// kustomizeSetImage edits the images list of a kustomization, filling tags and digests
// from the Freight.
func kustomizeSetImage(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg kustomizeSetImageConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dir, err := sc.Path("path", cfg.Path)
	if err != nil {
		return promotion.StepResult{}, err
	}
	file, rel := "", ""
	for _, n := range kustomizationNames {
		p, err := promotion.SecurePath(sc.WorkDir, "path", filepath.Join(cfg.Path, n))
		if err != nil {
			return promotion.StepResult{}, err
		}
		if _, err := os.Stat(p); err == nil {
			file, rel = p, filepath.Join(cfg.Path, n)
			break
		}
	}
	if file == "" {
		_ = dir
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("path %q has no kustomization.yaml", cfg.Path))
	}
	updates := cfg.Images
	if len(updates) == 0 {
		for _, img := range sc.Freight.Images {
			updates = append(updates, kustomizeImageOverride{Image: img.RepoURL})
		}
	}
	data, err := readCapped(file, rel)
	if err != nil {
		return promotion.StepResult{}, err
	}
	root, err := parseYAMLSafe(data, rel)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(err)
	}
	images, err := root.Pipe(yaml.LookupCreate(yaml.SequenceNode, "images"))
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: images: %w", rel, err))
	}
	set := map[string]any{}
	for i, u := range updates {
		tag, digest := u.Tag, u.Digest
		if tag == "" && digest == "" {
			found := false
			for _, fi := range sc.Freight.Images {
				if fi.RepoURL == u.Image {
					tag, digest, found = fi.Tag, fi.Digest, true
					if tag != "" {
						digest = ""
					}
					break
				}
			}
			if !found {
				return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("images[%d]: no tag or digest given and the Freight has no image %q", i, u.Image))
			}
		}
		name := u.Name
		if name == "" {
			name = u.Image
		}
		if err := setKustomizationImage(images, name, u.NewName, tag, digest); err != nil {
			return promotion.StepResult{}, err
		}
		ref := name + ":" + tag
		if digest != "" {
			ref = name + "@" + digest
		}
		set[name] = ref
	}
	out, err := root.String()
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("encoding %s: %w", rel, err)
	}
	if err := writeFile(file, rel, []byte(out)); err != nil {
		return promotion.StepResult{}, err
	}
	return promotion.StepResult{Output: map[string]any{"images": set}}, nil
}

func setKustomizationImage(images *yaml.RNode, name, newName, tag, digest string) error {
	var entry *yaml.RNode
	elems, err := images.Elements()
	if err != nil {
		return errors.New("kustomization images is not a list")
	}
	for _, e := range elems {
		if n, _ := e.Pipe(yaml.Get("name")); n != nil && yaml.GetValue(n) == name {
			entry = e
			break
		}
	}
	if entry == nil {
		entry = yaml.NewMapRNode(&map[string]string{"name": name})
		if err := images.PipeE(yaml.Append(entry.YNode())); err != nil {
			return err
		}
	}
	fields := map[string]string{"newName": newName, "newTag": tag, "digest": digest}
	for _, k := range []string{"newName", "newTag", "digest"} {
		v := fields[k]
		if v == "" {
			if k != "newName" {
				if err := entry.PipeE(yaml.Clear(k)); err != nil {
					return err
				}
			}
			continue
		}
		if f := entry.Field(k); f != nil && f.Value.YNode().Kind == yaml.ScalarNode {
			// Edit in place so comments on the line survive.
			f.Value.YNode().Value, f.Value.YNode().Tag = v, yaml.NodeTagString
			continue
		}
		if err := entry.PipeE(yaml.SetField(k, yaml.NewStringRNode(v))); err != nil {
			return err
		}
	}
	return nil
}
