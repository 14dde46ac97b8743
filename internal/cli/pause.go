package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// newPauseCommand builds `haul pause stage NAME`.
func newPauseCommand(g *GlobalOptions) *cobra.Command {
	return pauseCommand(g, true)
}

// newResumeCommand builds `haul resume stage NAME`.
func newResumeCommand(g *GlobalOptions) *cobra.Command {
	return pauseCommand(g, false)
}

func pauseCommand(g *GlobalOptions, paused bool) *cobra.Command {
	verb, short, done := "pause", "Stop new Promotions from starting on a Stage (a running one finishes)", "paused"
	if !paused {
		verb, short, done = "resume", "Let Promotions start on a paused Stage again", "resumed"
	}
	return &cobra.Command{
		Use:   verb + " stage NAME",
		Short: short,
		Long: short + ".\n\nSets the Stage's spec.paused. Pending Promotions, manual or automatic, wait\n" +
			"with the message \"stage is paused\". Needs the verb pause on stages (haul-promoter,\n" +
			"haul-admin); below haul-admin the Haul server makes the change. See docs/governance.md.",
		Example:   "  haul " + verb + " stage prod",
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"stage"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if k, err := findKind(args[0]); err != nil || k.Kind != "Stage" {
				return fmt.Errorf("%s works on a stage, not %q", verb, args[0])
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			ns, err := s.requireProject()
			if err != nil {
				return err
			}
			if err := setPaused(cmd.Context(), s, ns, args[1], paused); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "stage.haul.dev/%s %s\n", args[1], done)
			return err
		},
	}
}

// setPaused writes spec.paused directly when the user may patch Stages, else asks the
// Haul server, which checks the verb pause.
func setPaused(ctx context.Context, s *session, ns, name string, paused bool) error {
	k := kindByKind("Stage")
	st := &haulv1.Stage{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, st); err != nil {
		return translate(err, opFor("get", k, name, ns))
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"paused": paused}})
	if err != nil {
		return err
	}
	if err := s.client.Patch(ctx, st, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(fieldManager)); err != nil {
		srv, ferr := forbiddenFallback(err, translate(err, opFor("patch", k, name, ns)))
		if ferr != nil {
			return ferr
		}
		action := "pause"
		if !paused {
			action = "resume"
		}
		path := "/api/v1/projects/" + url.PathEscape(ns) + "/stages/" + url.PathEscape(name) + "/" + action
		return postToServer(ctx, s, srv, path, nil, nil)
	}
	return nil
}
