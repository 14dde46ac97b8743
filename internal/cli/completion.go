package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newCompletionCommand builds `haul completion`.
func newCompletionCommand(_ *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: "Print a completion script for your shell. For example:\n\n" +
			"  source <(haul completion bash)\n" +
			"  haul completion zsh > \"${fpath[1]}/_haul\"\n" +
			"  haul completion fish > ~/.config/fish/completions/haul.fish",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return fmt.Errorf("unsupported shell %q: use bash, zsh or fish", args[0])
		},
	}
}
