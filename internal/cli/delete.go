package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/haul-dev/haul/internal/manifest"
)

// newDeleteCommand builds `haul delete`.
func newDeleteCommand(g *GlobalOptions) *cobra.Command {
	var files []string
	var recursive, ignoreNotFound bool
	cmd := &cobra.Command{
		Use:     "delete (-f FILE | TYPE NAME...)",
		Short:   "Delete the objects of a manifest, or objects by type and name",
		Example: "  haul delete -f pipeline.yaml\n  haul delete stage prod\n  haul delete freight brave-otter",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(files) > 0 && len(args) > 0 {
				return errors.New("pass either -f or TYPE NAME, not both")
			}
			if len(files) == 0 && len(args) < 2 {
				return errors.New("pass -f FILE, or a type and at least one name")
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(files) > 0 {
				docs, err := manifest.Load(files, recursive, cmd.InOrStdin())
				if err != nil {
					return err
				}
				return deleteDocs(cmd.Context(), s, out, docs, ignoreNotFound)
			}
			return deleteNamed(cmd.Context(), s, out, args[0], args[1:], ignoreNotFound)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "file, directory or - (stdin) naming what to delete")
	cmd.Flags().BoolVarP(&recursive, "recursive", "R", false, "read directories recursively")
	cmd.Flags().BoolVar(&ignoreNotFound, "ignore-not-found", false, "do not fail when an object is already gone")
	return cmd
}

func deleteNamed(ctx context.Context, s *session, out io.Writer, typ string, names []string, ignoreNotFound bool) error {
	k, err := findKind(typ)
	if err != nil {
		return err
	}
	ns := ""
	if k.Namespaced {
		if ns, err = s.requireProject(); err != nil {
			return err
		}
	}
	for _, name := range names {
		obj := k.newObject()
		obj.SetNamespace(ns)
		obj.SetName(name)
		if k.Kind == "Freight" {
			// Freight is usually known by its alias.
			f, err := findFreight(ctx, s, ns, name)
			if err != nil {
				if ignoreNotFound {
					continue
				}
				return err
			}
			obj = f
		}
		if err := s.client.Delete(ctx, obj); err != nil {
			if apierrors.IsNotFound(err) && ignoreNotFound {
				continue
			}
			return translate(err, opFor("delete", k, name, ns))
		}
		_, _ = fmt.Fprintf(out, "%s deleted\n", k.resourceName(obj.GetName()))
	}
	return nil
}

// deleteDocs deletes a manifest's objects in the reverse of apply order, so Projects
// (and with them their namespaces) go last.
func deleteDocs(ctx context.Context, s *session, out io.Writer, docs []manifest.Document, ignoreNotFound bool) error {
	a := &applier{s: s, o: &applyOptions{}, nsExists: map[string]bool{}, nsWill: map[string]bool{}}
	if err := a.scope(docs); err != nil {
		return err
	}
	sort.SliceStable(docs, func(i, j int) bool { return applyOrder(docs[i].Object) > applyOrder(docs[j].Object) })
	for i := range docs {
		d := &docs[i]
		if err := s.client.Delete(ctx, d.Object); err != nil {
			if apierrors.IsNotFound(err) {
				if ignoreNotFound {
					continue
				}
				_, _ = fmt.Fprintf(out, "%s not found\n", d.ResourceName())
				continue
			}
			return translate(err, a.opFor(d, "delete"))
		}
		_, _ = fmt.Fprintf(out, "%s deleted\n", d.ResourceName())
	}
	return nil
}
