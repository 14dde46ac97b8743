package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/haul-dev/haul/pkg/forge"
	"github.com/haul-dev/haul/promotion"
)

// defaultMergePRPoll is Kargo's default pollInterval for git-merge-pr with wait.
const defaultMergePRPoll = 10 * time.Second

type gitMergePRConfig struct {
	forgeConfig
	PRNumber prNumber `json:"prNumber"`
	// MergeMethod is the forge's (merge, squash, rebase, ...); its default when empty.
	MergeMethod string `json:"mergeMethod,omitempty"`
	// Wait keeps the step Running while the forge says the pull request is not
	// mergeable yet (checks pending, approvals missing), instead of failing.
	Wait         bool   `json:"wait,omitempty"`
	PollInterval string `json:"pollInterval,omitempty"`
}

func (c *gitMergePRConfig) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	if c.PRNumber < 1 {
		return fmt.Errorf("prNumber %d must be at least 1", c.PRNumber)
	}
	_, err := pollInterval(c.PollInterval, defaultMergePRPoll)
	return err
}

// gitMergePR merges the pull request and outputs the merge commit as commit. When the
// forge refuses (a conflict, missing approvals) the step fails with the forge's
// reason, or stays Running with wait. A pull request merged already succeeds, so a
// replay is harmless.
func gitMergePR(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg gitMergePRConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	every, _ := pollInterval(cfg.PollInterval, defaultMergePRPoll)
	p, err := newForge(ctx, sc, cfg.forgeConfig)
	if err != nil {
		return promotion.StepResult{}, err
	}
	pr, err := p.MergePR(ctx, int64(cfg.PRNumber), forge.MergeOptions{Method: cfg.MergeMethod})
	var nm *forge.NotMergeableError
	switch {
	case errors.As(err, &nm):
		if cfg.Wait {
			return promotion.StepResult{Status: promotion.StatusRunning, Message: nm.Error() + "; waiting", RequeueAfter: every, PullRequest: prStatus(pr)}, nil
		}
		return promotion.StepResult{Status: promotion.StatusFailed, Message: nm.Error(), PullRequest: prStatus(pr)}, nil
	case errors.Is(err, forge.ErrClosed) && pr != nil:
		return promotion.StepResult{Status: promotion.StatusFailed, Message: closedMessage(pr), PullRequest: prStatus(pr)}, nil
	case err != nil:
		return promotion.StepResult{}, forgeError(err)
	}
	return promotion.StepResult{
		Output:      map[string]any{"commit": pr.MergeCommitSHA, "pr": prOutput(pr)},
		Message:     fmt.Sprintf("merged pull request #%d as %s", pr.Number, pr.MergeCommitSHA),
		PullRequest: prStatus(pr),
	}, nil
}
