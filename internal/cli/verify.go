package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// newVerifyCommand builds `haul verify`.
func newVerifyCommand(g *GlobalOptions) *cobra.Command {
	var abort bool
	cmd := &cobra.Command{
		Use:     "verify stage NAME",
		Short:   "Re-run verification of a Stage's current Freight (or abort the running one)",
		Example: "  haul verify stage uat\n  haul verify stage uat --abort",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if k, err := findKind(args[0]); err != nil || k.Kind != "Stage" {
				return fmt.Errorf("verify works on a stage, not %q", args[0])
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			ns, err := s.requireProject()
			if err != nil {
				return err
			}
			if abort {
				return annotate(cmd.Context(), s, cmd.OutOrStdout(), kindByKind("Stage"), ns, args[1], haulv1.AnnotationAbort, "verification abort requested")
			}
			return annotate(cmd.Context(), s, cmd.OutOrStdout(), kindByKind("Stage"), ns, args[1], haulv1.AnnotationReverify, "verification requested")
		},
	}
	cmd.Flags().BoolVar(&abort, "abort", false, "abort the running verification instead")
	return cmd
}

// newAbortCommand builds `haul abort`.
func newAbortCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "abort (promotion NAME | verification STAGE)",
		Short:   "Abort a running Promotion or a Stage's running verification",
		Example: "  haul abort promotion prod.01j9zq5m2x6y7v8w9a0b1c2d3e.3f2a1b0\n  haul abort verification uat",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.connect()
			if err != nil {
				return err
			}
			ns, err := s.requireProject()
			if err != nil {
				return err
			}
			switch args[0] {
			case "promotion", "promotions", "promo":
				return annotate(cmd.Context(), s, cmd.OutOrStdout(), kindByKind("Promotion"), ns, args[1], haulv1.AnnotationAbort, "abort requested")
			case "verification", "stage":
				return annotate(cmd.Context(), s, cmd.OutOrStdout(), kindByKind("Stage"), ns, args[1], haulv1.AnnotationAbort, "verification abort requested")
			}
			return fmt.Errorf("abort works on a promotion or a verification, not %q", args[0])
		},
	}
}
