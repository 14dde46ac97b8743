package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// completeNames lists object names of a kind for shell completion; any error means no
// suggestions, never a message in the user's shell.
func completeNames(g *GlobalOptions, kindName string) []string {
	k, err := findKind(kindName)
	if err != nil {
		return nil
	}
	s, err := g.connect()
	if err != nil {
		return nil
	}
	var opts []client.ListOption
	if k.Namespaced {
		if s.project == "" {
			return nil
		}
		opts = append(opts, client.InNamespace(s.project))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list := k.newList()
	if err := s.client.List(ctx, list, opts...); err != nil {
		return nil
	}
	items, err := listItems(list)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(items))
	for _, it := range items {
		names = append(names, it.GetName())
	}
	return names
}

// nameCompletion completes a flag with the names of one kind.
func nameCompletion(g *GlobalOptions, kindName string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return completeNames(g, kindName), cobra.ShellCompDirectiveNoFileComp
	}
}
