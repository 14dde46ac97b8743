// Package cli is the haul command tree: server commands (up, controller, server) and
// the kubectl-like client commands. It parses flags and calls into other packages.
package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// GlobalOptions are the flags every client command shares.
type GlobalOptions struct {
	Kubeconfig string
	Context    string
	Project    string
	Output     string
	NoHeaders  bool
}

// exitError carries an exit code through cobra without printing usage.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// NewRootCommand builds the haul command tree.
func NewRootCommand() *cobra.Command {
	g := &GlobalOptions{}
	root := &cobra.Command{
		Use:           "haul",
		Short:         "Haul promotes versions through GitOps stages",
		Long:          "Haul watches registries and Git repositories, bundles new versions into Freight,\nand promotes Freight through a pipeline of Stages by editing Git.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	pf.StringVar(&g.Context, "context", "", "kubeconfig context to use")
	pf.StringVarP(&g.Project, "project", "p", "", "project to work in (default from haul config set-project)")
	pf.StringVarP(&g.Output, "output", "o", "table", "output format: table|wide|json|yaml|name")
	pf.BoolVar(&g.NoHeaders, "no-headers", false, "omit table headers")

	root.AddCommand(commands(g)...)
	return root
}

// commands is the one list of haul's top-level commands: servers first, then the
// client commands in the order a user meets them.
func commands(g *GlobalOptions) []*cobra.Command {
	return []*cobra.Command{
		// Servers.
		newUpCommand(g),
		newControllerCommand(g),
		newServerCommand(g),
		// Declaring the pipeline.
		newApplyCommand(g),
		newDeleteCommand(g),
		newGetCommand(g),
		newPipelineCommand(g),
		// Moving Freight.
		newRefreshCommand(g),
		newPromoteCommand(g),
		newApproveCommand(g),
		newPauseCommand(g),
		newResumeCommand(g),
		newVerifyCommand(g),
		newAbortCommand(g),
		newLogsCommand(g),
		// The local demo, settings and shell support.
		newDemoCommand(g),
		newConfigCommand(g),
		newCompletionCommand(g),
		newVersionCommand(g),
	}
}

// Execute runs the command tree and returns the process exit code. Errors go to stderr
// as one line, without usage text or stack traces.
func Execute() int {
	root := NewRootCommand()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}
