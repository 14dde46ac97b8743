package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/haul-dev/haul/pkg/forge"
	"github.com/haul-dev/haul/promotion"
)

// defaultWaitForPRPoll is Kargo's default pollInterval for git-wait-for-pr.
const defaultWaitForPRPoll = 30 * time.Second

type gitWaitForPRConfig struct {
	forgeConfig
	PRNumber     prNumber `json:"prNumber"`
	PollInterval string   `json:"pollInterval,omitempty"`
}

func (c *gitWaitForPRConfig) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	if c.PRNumber < 1 {
		return fmt.Errorf("prNumber %d must be at least 1", c.PRNumber)
	}
	_, err := pollInterval(c.PollInterval, defaultWaitForPRPoll)
	return err
}

// gitWaitForPR stays Running until the pull request is merged, then outputs the merge
// commit as commit; a pull request closed unmerged fails the step, naming who closed
// it. Bound the wait with retry.timeout.
func gitWaitForPR(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg gitWaitForPRConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	every, _ := pollInterval(cfg.PollInterval, defaultWaitForPRPoll)
	p, err := newForge(ctx, sc, cfg.forgeConfig)
	if err != nil {
		return promotion.StepResult{}, err
	}
	pr, err := p.GetPR(ctx, int64(cfg.PRNumber))
	if err != nil {
		return promotion.StepResult{}, forgeError(err)
	}
	out := map[string]any{"pr": prOutput(pr)}
	switch pr.State {
	case forge.StateOpen:
		return promotion.StepResult{
			Status:       promotion.StatusRunning,
			Output:       out,
			Message:      fmt.Sprintf("waiting for review: pull request #%d %s", pr.Number, pr.URL),
			RequeueAfter: every,
			PullRequest:  prStatus(pr),
		}, nil
	case forge.StateClosed:
		return promotion.StepResult{Status: promotion.StatusFailed, Output: out, Message: closedMessage(pr), PullRequest: prStatus(pr)}, nil
	}
	out["commit"] = pr.MergeCommitSHA
	msg := fmt.Sprintf("pull request #%d merged as %s", pr.Number, pr.MergeCommitSHA)
	if pr.MergedBy != "" {
		msg += " by " + pr.MergedBy
	}
	return promotion.StepResult{Output: out, Message: msg, PullRequest: prStatus(pr)}, nil
}
