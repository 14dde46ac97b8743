package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/kargo"
)

// maxFileSize bounds one manifest file; larger input is almost certainly a mistake.
const maxFileSize = 16 << 20

// Document is one object of a manifest set.
type Document struct {
	// Source says where the object came from: "file.yaml#2" (the document index, 1-based).
	Source string
	Object *unstructured.Unstructured
	// ConvertedFrom is the apiVersion it was converted from (kargo.akuity.io/v1alpha1), if any.
	ConvertedFrom string
	// Notes are extra remarks about the conversion.
	Notes []string
}

// Describe names the document for messages: "stage.haul.dev/prod (file.yaml#2)".
func (d *Document) Describe() string {
	return fmt.Sprintf("%s (%s)", d.ResourceName(), d.Source)
}

// ResourceName is kubectl's kind.group/name form.
func (d *Document) ResourceName() string {
	gvk := d.Object.GroupVersionKind()
	k := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		k += "." + gvk.Group
	}
	return k + "/" + d.Object.GetName()
}

// Load reads every manifest named by paths ("-" is stdin, a directory means its .yaml,
// .yml and .json files, recursively when recursive is set), converts Kargo objects and
// drops the fields the server owns (status, resourceVersion, managedFields, ...) so the
// output of `haul get -o yaml` can be applied again.
func Load(paths []string, recursive bool, stdin io.Reader) ([]Document, error) {
	var raws []rawDoc
	for _, p := range paths {
		docs, err := readPath(p, recursive, stdin)
		if err != nil {
			return nil, err
		}
		raws = append(raws, docs...)
	}
	return convert(raws)
}

// parseAndConvert loads one in-memory manifest, for tests.
func parseAndConvert(source string, b []byte) ([]Document, error) {
	raws, err := parse(source, b)
	if err != nil {
		return nil, err
	}
	return convert(raws)
}

func convert(raws []rawDoc) ([]Document, error) {
	objs := make([]kargo.Object, len(raws))
	for i := range raws {
		objs[i] = raws[i].obj
	}
	origins := kargo.StageOrigins(objs)
	var out []Document
	for i, o := range objs {
		res, err := kargo.Convert(o, origins)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", raws[i].source, err)
		}
		for _, r := range res {
			u := &unstructured.Unstructured{Object: r.Object}
			stripServerFields(u)
			if u.GroupVersionKind().Group == haulv1.GroupVersion.Group {
				pruneNulls(u.Object)
			}
			out = append(out, Document{Source: raws[i].source, Object: u, ConvertedFrom: r.From, Notes: r.Notes})
		}
	}
	return out, nil
}

type rawDoc struct {
	source string
	obj    map[string]any
}

func readPath(p string, recursive bool, stdin io.Reader) ([]rawDoc, error) {
	if p == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, maxFileSize+1))
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		return parse("stdin", b)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return readFile(p)
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != p && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading directory %s: %w", p, err)
	}
	sort.Strings(files)
	var out []rawDoc
	for _, f := range files {
		docs, err := readFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no manifests found in directory %s", p)
	}
	return out, nil
}

func readFile(path string) ([]rawDoc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return parse(path, b)
}

// parse splits multi-document YAML (or JSON) and expands `kind: List`.
func parse(source string, b []byte) ([]rawDoc, error) {
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", source, maxFileSize>>20)
	}
	reader := utilyaml.NewYAMLReader(bufioReader(b))
	var out []rawDoc
	for i := 1; ; i++ {
		chunk, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(bytes.TrimSpace(stripComments(chunk))) == 0 {
			continue
		}
		src := fmt.Sprintf("%s#%d", source, i)
		var obj map[string]any
		if err := yaml.Unmarshal(chunk, &obj); err != nil {
			return nil, fmt.Errorf("%s: not valid YAML: %w", src, err)
		}
		if obj == nil {
			continue
		}
		if err := checkTypeMeta(obj); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if obj["kind"] == "List" || strings.HasSuffix(fmt.Sprint(obj["kind"]), "List") && obj["items"] != nil {
			items, _ := obj["items"].([]any)
			for j, it := range items {
				m, ok := it.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: items[%d]: expected an object", src, j)
				}
				if err := checkTypeMeta(m); err != nil {
					return nil, fmt.Errorf("%s: items[%d]: %w", src, j, err)
				}
				out = append(out, rawDoc{source: fmt.Sprintf("%s[%d]", src, j), obj: m})
			}
			continue
		}
		out = append(out, rawDoc{source: src, obj: obj})
	}
	return out, nil
}

func checkTypeMeta(obj map[string]any) error {
	if s, _ := obj["apiVersion"].(string); s == "" {
		return fmt.Errorf("apiVersion: required")
	}
	if s, _ := obj["kind"].(string); s == "" {
		return fmt.Errorf("kind: required")
	}
	if obj["kind"] != "List" {
		md, _ := obj["metadata"].(map[string]any)
		if s, _ := md["name"].(string); s == "" {
			return fmt.Errorf("metadata.name: required")
		}
	}
	return nil
}

// stripComments drops comment-only lines so a document of comments counts as empty.
func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// pruneNulls drops every map entry whose value is null, as the API server does for a
// custom resource's fields that are not nullable (none of Haul's are) before it
// validates them. A Kargo document often has `spec:` followed only by comments
// (`# ...`), which YAML reads as null; the API server accepts it, so apply must too.
func pruneNulls(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			pruneNulls(t)
		case []any:
			for _, item := range t {
				if im, ok := item.(map[string]any); ok {
					pruneNulls(im)
				}
			}
		}
	}
}

// stripServerFields removes what the server owns, so `get -o yaml` output can be applied.
func stripServerFields(u *unstructured.Unstructured) {
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(u.Object, "status")
	if md, ok := u.Object["metadata"].(map[string]any); ok {
		if a, ok := md["annotations"].(map[string]any); ok && len(a) == 0 {
			delete(md, "annotations")
		}
	}
}
