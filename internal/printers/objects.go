package printers

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Clean turns a typed object into a plain map fit for printing and re-applying: it
// drops managedFields (noise, and server-side apply rejects them).
func Clean(obj runtime.Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	unstructured.RemoveNestedField(m, "metadata", "managedFields")
	return m, nil
}

// listOf wraps several objects in a v1 List, as kubectl prints them.
func listOf(items []map[string]any) map[string]any {
	arr := make([]any, len(items))
	for i := range items {
		arr[i] = items[i]
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": arr, "metadata": map[string]any{}}
}

// WriteJSON prints one object, or a List when single is false.
func WriteJSON(w io.Writer, items []map[string]any, single bool) error {
	var v any = listOf(items)
	if single && len(items) == 1 {
		v = items[0]
	}
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// WriteYAML prints one object, or a List when single is false.
func WriteYAML(w io.Writer, items []map[string]any, single bool) error {
	var v any = listOf(items)
	if single && len(items) == 1 {
		v = items[0]
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ResourceName is kubectl's `kind.group/name` form, e.g. stage.haul.dev/prod or secret/creds.
func ResourceName(group, kind, name string) string {
	k := strings.ToLower(kind)
	if group != "" {
		k += "." + group
	}
	return k + "/" + name
}
