package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// newRefreshCommand builds `haul refresh`.
func newRefreshCommand(g *GlobalOptions) *cobra.Command {
	var waitFor bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "refresh (warehouse|stage) NAME",
		Short: "Ask for discovery of a Warehouse, or re-evaluation of a Stage, now",
		Long: "Set the haul.dev/refresh annotation to the current time. With --wait, wait until the\n" +
			"controller reports it handled that refresh (status.lastHandledRefresh).",
		Example:   "  haul refresh warehouse app --wait",
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"warehouse", "stage"},
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := findKind(args[0])
			if err != nil || (k.Kind != "Warehouse" && k.Kind != "Stage") {
				return fmt.Errorf("refresh works on a warehouse or a stage, not %q", args[0])
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
			value, err := annotateValue(ctx, s, k, ns, args[1], haulv1.AnnotationRefresh)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			_, _ = fmt.Fprintf(out, "%s refresh requested\n", k.resourceName(args[1]))
			if !waitFor {
				return nil
			}
			if err := waitRefreshed(ctx, s, k, ns, args[1], value, timeout); err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "%s refreshed\n", k.resourceName(args[1]))
			return err
		},
	}
	cmd.Flags().BoolVar(&waitFor, "wait", false, "wait until the controller handled the refresh")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "with --wait, give up after this long")
	return cmd
}

// waitRefreshed polls until status.lastHandledRefresh equals value.
func waitRefreshed(ctx context.Context, s *session, k *kind, ns, name, value string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(context.Context) (bool, error) {
		// The outer context: the poll's own deadline must not fail a request midway.
		obj := k.newObject()
		if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			return false, translate(err, opFor("get", k, name, ns))
		}
		switch o := obj.(type) {
		case *haulv1.Warehouse:
			return o.Status.LastHandledRefresh == value, nil
		case *haulv1.Stage:
			return o.Status.LastHandledRefresh == value, nil
		}
		return false, nil
	})
	if wait.Interrupted(err) {
		return &exitError{code: 2, err: fmt.Errorf("%s %q did not handle the refresh within %s; is the Haul controller running?", k.Singular, name, timeout)}
	}
	return err
}
