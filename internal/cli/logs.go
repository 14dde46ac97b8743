package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/printers"
)

// newLogsCommand builds `haul logs`.
func newLogsCommand(g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "logs promotion NAME",
		Short:   "Show a Promotion's steps: status, timing, messages and outputs",
		Example: "  haul logs promotion prod.01j9zq5m2x6y7v8w9a0b1c2d3e.3f2a1b0",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if k, err := findKind(args[0]); err != nil || k.Kind != "Promotion" {
				return fmt.Errorf("logs works on a promotion, not %q", args[0])
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			ns, err := s.requireProject()
			if err != nil {
				return err
			}
			p := &haulv1.Promotion{}
			if err := s.client.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[1]}, p); err != nil {
				return translate(err, opFor("get", kindByKind("Promotion"), args[1], ns))
			}
			return writeLogs(cmd.OutOrStdout(), p)
		},
	}
}

// writeLogs prints a Promotion's header and one block per step.
func writeLogs(w io.Writer, p *haulv1.Promotion) error {
	t := now()
	freight := p.Spec.Freight
	if p.Status.Freight != nil && p.Status.Freight.Alias != "" {
		freight = p.Status.Freight.Alias + " (" + printers.ShortID(p.Spec.Freight) + ")"
	}
	phase := string(p.Status.Phase)
	if phase == "" {
		phase = string(haulv1.PromotionPending)
	}
	_, _ = fmt.Fprintf(w, "Promotion: %s\nStage:     %s\nFreight:   %s\nPhase:     %s%s\n", p.Name, p.Spec.Stage, freight, phase, elapsedSuffix(p, t))
	if a := p.Annotations[haulv1.AnnotationCreateActor]; a != "" {
		_, _ = fmt.Fprintf(w, "Actor:     %s\n", a)
	}
	if pr := p.Status.PullRequest(); pr != nil {
		waiting := ""
		if p.Status.WaitingPullRequest() != nil {
			waiting = ", waiting for review"
		}
		_, _ = fmt.Fprintf(w, "PR:        %s %s%s\n", printers.PullRequest(pr), pr.URL, waiting)
	}
	if p.Status.Message != "" {
		_, _ = fmt.Fprintf(w, "Message:   %s\n", p.Status.Message)
	}
	if len(p.Status.Steps) == 0 {
		_, err := fmt.Fprintln(w, "\nNo steps yet: the Promotion has not started.")
		return err
	}
	state := map[string]any{}
	if p.Status.State != nil && len(p.Status.State.Raw) > 0 {
		_ = json.Unmarshal(p.Status.State.Raw, &state)
	}
	meta := map[string]haulv1.StepExecutionMetadata{}
	for _, m := range p.Status.StepExecutionMetadata {
		meta[m.Alias] = m
	}
	rows := progressRows(p, t)
	for i, r := range rows {
		_, _ = fmt.Fprintf(w, "\n[%d/%d] %s (%s): %s", i+1, len(rows), r.alias, r.uses, r.status)
		if r.elapsed != "" {
			_, _ = fmt.Fprintf(w, " in %s", r.elapsed)
		}
		if m := meta[r.alias]; m.ErrorCount > 0 {
			_, _ = fmt.Fprintf(w, ", %d error(s)", m.ErrorCount)
		}
		_, _ = fmt.Fprintln(w)
		if pr := meta[r.alias].PullRequest; pr != nil {
			_, _ = fmt.Fprintf(w, "  pull request %s %s\n", printers.PullRequest(pr), pr.URL)
		}
		if r.message != "" {
			for _, line := range strings.Split(strings.TrimRight(r.message, "\n"), "\n") {
				_, _ = fmt.Fprintf(w, "  | %s\n", line)
			}
		}
		if out, ok := state[r.alias]; ok {
			b, err := yaml.Marshal(out)
			if err == nil {
				_, _ = fmt.Fprintln(w, "  outputs:")
				for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
					_, _ = fmt.Fprintf(w, "    %s\n", line)
				}
			}
		}
	}
	return nil
}
