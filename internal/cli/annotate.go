package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// annotate sets an annotation to the current time with a merge patch, which is how the
// CLI asks controllers to act (refresh, abort, reverify). It returns the value set.
func annotateValue(ctx context.Context, s *session, k *kind, ns, name, key string) (string, error) {
	value := now().UTC().Format(time.RFC3339Nano)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return "", err
	}
	obj := k.newObject()
	obj.SetNamespace(ns)
	obj.SetName(name)
	if err := s.client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(fieldManager)); err != nil {
		// Roles below haul-admin may not patch; the Haul server acts for them.
		srv, ferr := forbiddenFallback(err, translate(err, opFor("patch", k, name, ns)))
		if ferr != nil {
			return "", ferr
		}
		return annotateViaServer(ctx, s, srv, k, ns, name, key)
	}
	return value, nil
}

func annotate(ctx context.Context, s *session, out io.Writer, k *kind, ns, name, key, what string) error {
	if _, err := annotateValue(ctx, s, k, ns, name, key); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "%s %s\n", k.resourceName(name), what)
	return err
}
