package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/printers"
)

// newPipelineCommand builds `haul pipeline`.
func newPipelineCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "pipeline",
		Short: "Draw the project's pipeline: warehouses and stages by layer, with Freight and health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.connect()
			if err != nil {
				return err
			}
			ns, err := s.requireProject()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			stages := &haulv1.StageList{}
			if err := s.client.List(ctx, stages, client.InNamespace(ns)); err != nil {
				return translate(err, opFor("list", kindByKind("Stage"), "", ns))
			}
			whs := &haulv1.WarehouseList{}
			if err := s.client.List(ctx, whs, client.InNamespace(ns)); err != nil {
				return translate(err, opFor("list", kindByKind("Warehouse"), "", ns))
			}
			if len(stages.Items) == 0 && len(whs.Items) == 0 {
				_, err := fmt.Fprintf(cmd.ErrOrStderr(), "project %q has no warehouses or stages yet\n", ns)
				return err
			}
			return printers.Pipeline(cmd.OutOrStdout(), whs.Items, stages.Items)
		},
	}
}
