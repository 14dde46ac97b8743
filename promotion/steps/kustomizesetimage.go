package steps

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
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

// preserveValue in newName, tag or digest keeps what the kustomization already has,
// as in Kargo.
const preserveValue = "*"

// kustomizeImage is one images entry as the step writes it.
type kustomizeImage struct {
	name, newName, newTag, digest string
}

// ref renders the image as Kargo's commit message does.
func (i kustomizeImage) ref() string {
	ref := i.name
	if i.newName != "" {
		ref = i.newName
	}
	if i.newTag != "" {
		ref += ":" + i.newTag
	}
	if i.digest != "" {
		ref += "@" + i.digest
	}
	return ref
}

// kustomizeSetImage edits the images list of a kustomization as Kargo does: each
// entry it sets is replaced whole ("*" keeps a field's current value), images with
// neither tag nor digest take both from the Freight, and the list ends sorted by name.
func kustomizeSetImage(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg kustomizeSetImageConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	if _, err := sc.Path("path", cfg.Path); err != nil {
		return promotion.StepResult{}, err
	}
	var found []string
	for _, n := range kustomizationNames {
		p, err := promotion.SecurePath(sc.WorkDir, "path", filepath.Join(cfg.Path, n))
		if err != nil {
			return promotion.StepResult{}, err
		}
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("could not find any Kustomization files in %q", cfg.Path))
	case 1:
	default:
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("ambiguous result: found multiple Kustomization files in %q: %s", cfg.Path, strings.Join(found, ", ")))
	}
	rel := filepath.Join(cfg.Path, found[0])
	file, err := sc.Path("path", rel)
	if err != nil {
		return promotion.StepResult{}, err
	}
	targets, err := imageTargets(cfg.Images, sc.Freight.Images)
	if err != nil {
		return promotion.StepResult{}, err
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
	written, err := setKustomizationImages(images, targets)
	if err != nil {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("%s: %w", rel, err))
	}
	out, err := root.String()
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("encoding %s: %w", rel, err)
	}
	if err := writeFile(file, rel, []byte(out)); err != nil {
		return promotion.StepResult{}, err
	}
	set := map[string]any{}
	for _, img := range written {
		ref := img.name
		if img.newTag != "" {
			ref += ":" + img.newTag
		}
		if img.digest != "" {
			ref += "@" + img.digest
		}
		set[img.name] = ref
	}
	output := map[string]any{"images": set}
	if msg := imagesCommitMessage(cfg.Path, written); msg != "" {
		output["commitMessage"] = msg
	}
	return promotion.StepResult{Output: output}, nil
}

// imageTargets lists the images to set, by kustomization name: the configured ones,
// or every image of the Freight.
func imageTargets(cfg []kustomizeImageOverride, freight []haulv1.Image) (map[string]kustomizeImage, error) {
	targets := map[string]kustomizeImage{}
	if len(cfg) == 0 {
		for _, fi := range freight {
			targets[fi.RepoURL] = kustomizeImage{name: fi.RepoURL, newTag: fi.Tag, digest: fi.Digest}
		}
		return targets, nil
	}
	for i, u := range cfg {
		t := kustomizeImage{name: u.Image, newName: u.NewName}
		if u.Name != "" {
			t.name = u.Name
		}
		switch {
		case u.Digest != "":
			t.digest = u.Digest
		case u.Tag != "":
			t.newTag = u.Tag
		default:
			// Haul's addition to Kargo's schema: the Freight's tag and digest.
			ok := false
			for _, fi := range freight {
				if fi.RepoURL == u.Image {
					t.newTag, t.digest, ok = fi.Tag, fi.Digest, true
					break
				}
			}
			if !ok {
				return nil, promotion.Terminal(fmt.Errorf("images[%d]: no tag or digest given and the Freight has no image %q", i, u.Image))
			}
		}
		targets[t.name] = t
	}
	return targets, nil
}

// setKustomizationImages replaces the entries of images named in targets, appends
// the others and sorts the list by name; it returns what was written, sorted.
func setKustomizationImages(images *yaml.RNode, targets map[string]kustomizeImage) ([]kustomizeImage, error) {
	if images.YNode().Kind != yaml.SequenceNode {
		return nil, errors.New("images is not a list")
	}
	seen := map[string]bool{}
	for _, e := range images.YNode().Content {
		if e.Kind != yaml.MappingNode {
			return nil, errors.New("images holds an entry that is not a map")
		}
		entry := yaml.NewRNode(e)
		if entry.Field("name") == nil {
			continue
		}
		name := yaml.GetValue(entry.Field("name").Value)
		t, ok := targets[name]
		if !ok {
			continue
		}
		current := func(k string) string {
			if f := entry.Field(k); f != nil {
				return yaml.GetValue(f.Value)
			}
			return ""
		}
		if t.newName == preserveValue {
			t.newName = current("newName")
		}
		if t.newTag == preserveValue {
			t.newTag = current("newTag")
		}
		if t.digest == preserveValue {
			t.digest = current("digest")
		}
		if err := setImageFields(entry, t); err != nil {
			return nil, err
		}
		targets[name], seen[name] = t, true
	}
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		if seen[name] {
			continue
		}
		t := targets[name]
		for _, f := range []*string{&t.newName, &t.newTag, &t.digest} {
			if *f == preserveValue {
				*f = ""
			}
		}
		entry := yaml.NewMapRNode(&map[string]string{"name": name})
		if err := setImageFields(entry, t); err != nil {
			return nil, err
		}
		images.YNode().Content = append(images.YNode().Content, entry.YNode())
		targets[name] = t
	}
	content := images.YNode().Content
	sort.SliceStable(content, func(i, j int) bool { return imageEntryName(content[i]) < imageEntryName(content[j]) })
	var written []kustomizeImage
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		written = append(written, targets[name])
	}
	return written, nil
}

func imageEntryName(n *yaml.Node) string {
	if f := yaml.NewRNode(n).Field("name"); f != nil {
		return yaml.GetValue(f.Value)
	}
	return ""
}

// setImageFields writes newName, newTag and digest, removing the empty ones; values
// already there are edited in place so comments on their lines survive.
func setImageFields(entry *yaml.RNode, t kustomizeImage) error {
	for _, kv := range [][2]string{{"newName", t.newName}, {"newTag", t.newTag}, {"digest", t.digest}} {
		k, v := kv[0], kv[1]
		if v == "" {
			if err := entry.PipeE(yaml.Clear(k)); err != nil {
				return err
			}
			continue
		}
		if f := entry.Field(k); f != nil && f.Value.YNode().Kind == yaml.ScalarNode {
			f.Value.YNode().Value, f.Value.YNode().Tag, f.Value.YNode().Style = v, yaml.NodeTagString, 0
			continue
		}
		if err := entry.PipeE(yaml.SetField(k, yaml.NewStringRNode(v))); err != nil {
			return err
		}
	}
	return nil
}

// imagesCommitMessage is Kargo's commitMessage output for kustomize-set-image.
func imagesCommitMessage(path string, images []kustomizeImage) string {
	if len(images) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Updated %s to use new image", path)
	if len(images) > 1 {
		b.WriteString("s")
	}
	b.WriteString("\n")
	for _, img := range images {
		fmt.Fprintf(&b, "\n- %s", img.ref())
	}
	return b.String()
}
