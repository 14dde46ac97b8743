package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/haul-dev/haul/internal/version"
)

// newVersionCommand builds `haul version`.
func newVersionCommand(_ *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Haul's version and commit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "haul %s (commit %s, %s, %s/%s)\n",
				version.Version, version.GetCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
