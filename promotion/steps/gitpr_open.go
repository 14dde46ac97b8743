package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/haul-dev/haul/pkg/forge"
	"github.com/haul-dev/haul/promotion"
)

type gitOpenPRConfig struct {
	forgeConfig
	SourceBranch string `json:"sourceBranch"`
	TargetBranch string `json:"targetBranch"`
	// CreateTargetBranch is accepted for Kargo manifests; Kargo made it a no-op.
	CreateTargetBranch bool     `json:"createTargetBranch,omitempty"`
	Title              string   `json:"title,omitempty"`
	Description        string   `json:"description,omitempty"`
	Labels             []string `json:"labels,omitempty"`
}

func (c *gitOpenPRConfig) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	if c.SourceBranch == "" {
		return errors.New("sourceBranch must not be empty")
	}
	if c.TargetBranch == "" {
		return errors.New("targetBranch must not be empty")
	}
	if c.SourceBranch == c.TargetBranch {
		return fmt.Errorf("sourceBranch and targetBranch are both %q; a pull request needs two branches", c.SourceBranch)
	}
	for i, l := range c.Labels {
		if l == "" {
			return fmt.Errorf("labels[%d] must not be empty", i)
		}
	}
	return nil
}

// gitOpenPR opens a pull request from sourceBranch to targetBranch, or adopts the one
// already open for them: a replayed step (after a restart or a retry) finds the pull
// request it opened instead of opening a second. Outputs pr.id and pr.url, and
// prNumber (the same number), the output older Kargo gave and that configurations
// written for it (akuity/kargo-simple's git-wait-for-pr) still read.
func gitOpenPR(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg gitOpenPRConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	p, err := newForge(ctx, sc, cfg.forgeConfig)
	if err != nil {
		return promotion.StepResult{}, err
	}
	// An earlier run of this step recorded its pull request: keep it unless it was
	// closed unmerged, in which case a new one is opened.
	if n, ok := recordedPR(sc); ok {
		pr, err := p.GetPR(ctx, n)
		if err == nil && pr.State != forge.StateClosed && pr.SourceBranch == cfg.SourceBranch && pr.TargetBranch == cfg.TargetBranch {
			return openedResult(pr, false), nil
		}
		if err != nil && !errors.Is(err, forge.ErrNotFound) {
			return promotion.StepResult{}, forgeError(err)
		}
	}
	title := cfg.Title
	if title == "" {
		title = fmt.Sprintf("Promote %s to %s", freightName(sc), sc.Stage)
	}
	desc := cfg.Description
	if desc == "" {
		desc = fmt.Sprintf("Haul Promotion %s of project %s merges %s into %s.", sc.Promotion, sc.Project, cfg.SourceBranch, cfg.TargetBranch)
	}
	pr, created, err := p.OpenPR(ctx, forge.OpenOptions{
		SourceBranch: cfg.SourceBranch, TargetBranch: cfg.TargetBranch,
		Title: title, Description: desc, Labels: cfg.Labels,
	})
	if err != nil {
		if pr != nil {
			// Opened, but labelling failed: keep the number so a retry adopts it.
			return promotion.StepResult{Output: openedOutput(pr), PullRequest: prStatus(pr)}, forgeError(err)
		}
		return promotion.StepResult{}, forgeError(fmt.Errorf("repoURL %s: %w", redactRepo(cfg.RepoURL), err))
	}
	return openedResult(pr, created), nil
}

func openedResult(pr *forge.PullRequest, created bool) promotion.StepResult {
	verb := "opened"
	if !created {
		verb = "found open"
	}
	return promotion.StepResult{
		Output:      openedOutput(pr),
		Message:     fmt.Sprintf("%s pull request #%d: %s", verb, pr.Number, pr.URL),
		PullRequest: prStatus(pr),
	}
}

// openedOutput is git-open-pr's output: Kargo's pr.id and pr.url (with Haul's state
// fields), and older Kargo's prNumber.
func openedOutput(pr *forge.PullRequest) map[string]any {
	return map[string]any{"pr": prOutput(pr), "prNumber": pr.Number}
}

// recordedPR is the pull request number a previous run of this step output.
func recordedPR(sc *promotion.StepContext) (int64, bool) {
	out, _ := sc.Outputs[sc.Alias].(map[string]any)
	pr, _ := out["pr"].(map[string]any)
	switch n := pr["id"].(type) {
	case int64:
		return n, n > 0
	case int:
		return int64(n), n > 0
	case float64:
		return int64(n), n > 0
	}
	return 0, false
}

func freightName(sc *promotion.StepContext) string {
	if sc.Freight.Name != "" {
		return "Freight " + sc.Freight.Name
	}
	return "Freight"
}
