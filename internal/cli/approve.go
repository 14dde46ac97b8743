package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// newApproveCommand builds `haul approve`.
func newApproveCommand(g *GlobalOptions) *cobra.Command {
	var freight, alias, stage string
	cmd := &cobra.Command{
		Use:     "approve (--freight NAME | --freight-alias A) --stage S",
		Short:   "Approve Freight for a Stage, making it available there without upstream verification",
		Example: "  haul approve --freight-alias brave-otter --stage prod",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stage == "" {
				return errors.New("--stage is required")
			}
			if (freight == "") == (alias == "") {
				return errors.New("pass exactly one of --freight or --freight-alias")
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			ns, err := s.requireProject()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: stage}, &haulv1.Stage{}); err != nil {
				return translate(err, opFor("get", kindByKind("Stage"), stage, ns))
			}
			var f *haulv1.Freight
			if alias != "" {
				f, err = findFreightByAlias(ctx, s, ns, alias)
			} else {
				f, err = findFreight(ctx, s, ns, freight)
			}
			if err != nil {
				return err
			}
			if err := canPromote(ctx, s, ns, stage); err != nil {
				return err
			}
			patch, err := json.Marshal(map[string]any{"status": map[string]any{"approvedFor": map[string]any{
				stage: haulv1.ApprovedStage{ApprovedAt: ptrTime(now()), ApprovedBy: s.whoAmI(ctx)},
			}}})
			if err != nil {
				return err
			}
			if err := s.client.Status().Patch(ctx, f, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(fieldManager)); err != nil {
				// Only admins write Freight status; a promoter approves through the
				// Haul server, which checks promote on the Stage.
				srv, ferr := forbiddenFallback(err, translate(err, op{verb: "patch", kind: "freight", resource: "freights/status", name: f.Name, namespace: ns, host: s.host}))
				if ferr != nil {
					return ferr
				}
				path := "/api/v1/projects/" + url.PathEscape(ns) + "/freight/" + url.PathEscape(f.Name) + "/approve"
				if err := postToServer(ctx, s, srv, path, map[string]string{"stage": stage}, nil); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Freight %s approved for Stage %s\n", freightLabel(f), stage)
			return err
		},
	}
	cmd.Flags().StringVar(&freight, "freight", "", "Freight name (or alias)")
	cmd.Flags().StringVar(&alias, "freight-alias", "", "Freight alias")
	cmd.Flags().StringVar(&stage, "stage", "", "Stage to approve the Freight for")
	return cmd
}

func ptrTime(t time.Time) *metav1.Time { v := metav1.NewTime(t.UTC().Truncate(time.Second)); return &v }
