package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// WaitForApprovalStep is the step that pauses a running Promotion for people's answers.
const WaitForApprovalStep = "wait-for-approval"

// ApproverRule is one entry of wait-for-approval's approvers, as Kargo has it: either a
// claim and a value, or a role. Haul knows a caller's groups (claim "groups") and user
// name (claims "email", "sub", "name", "preferred_username"); a role is a Role or
// ClusterRole a RoleBinding in the project binds to the caller or one of their groups.
type ApproverRule struct {
	Claim    string `json:"claim,omitempty"`
	Value    string `json:"value,omitempty"`
	Role     string `json:"role,omitempty"`
	Required bool   `json:"required,omitempty"`
}

// WaitForApprovalConfig is the wait-for-approval step's config (Kargo's keys).
type WaitForApprovalConfig struct {
	Approvers    []ApproverRule `json:"approvers,omitempty"`
	MinApprovals int            `json:"minApprovals,omitempty"`
	PollInterval string         `json:"pollInterval,omitempty"`
}

// Validate checks the config, naming the field at fault.
func (c *WaitForApprovalConfig) Validate() error {
	if c.MinApprovals < 0 {
		return fmt.Errorf("minApprovals %d must be at least 1", c.MinApprovals)
	}
	for i, r := range c.Approvers {
		byClaim := r.Claim != "" || r.Value != ""
		switch {
		case byClaim && r.Role != "":
			return fmt.Errorf("approvers[%d]: set either claim and value or role, not both", i)
		case byClaim && (r.Claim == "" || r.Value == ""):
			return fmt.Errorf("approvers[%d]: claim %q needs a value and value %q a claim", i, r.Claim, r.Value)
		case !byClaim && r.Role == "":
			return fmt.Errorf("approvers[%d]: set claim and value, or role", i)
		}
	}
	if c.PollInterval != "" {
		if d, err := time.ParseDuration(c.PollInterval); err != nil || d <= 0 {
			return fmt.Errorf("pollInterval %q is not a positive duration such as 30s", c.PollInterval)
		}
	}
	return nil
}

// Min is how many distinct people must approve: minApprovals, 1 when unset.
func (c *WaitForApprovalConfig) Min() int {
	if c.MinApprovals < 1 {
		return 1
	}
	return c.MinApprovals
}

// StepResponse is one person's answer to a wait-for-approval step. Rules lists the
// indexes of the approvers rules the responder matched when answering.
type StepResponse struct {
	Step    string    `json:"step"`
	User    string    `json:"user"`
	Action  string    `json:"action"`
	Time    time.Time `json:"time"`
	Message string    `json:"message,omitempty"`
	Rules   []int     `json:"rules,omitempty"`
}

// The actions a responder can take.
const (
	ActionApprove = "approve"
	ActionReject  = "reject"
)

// Responder is who answers, as the server or the API server authenticated them.
type Responder struct {
	User   string
	Groups []string
	// Roles are the names of the Roles and ClusterRoles bound to the responder in the
	// project.
	Roles []string
}

// StepResponses reads a Promotion's recorded answers; an unreadable annotation (written
// by hand) is an error naming it.
func StepResponses(p *haulv1.Promotion) ([]StepResponse, error) {
	raw := p.Annotations[haulv1.AnnotationApprovalResponses]
	if raw == "" {
		return nil, nil
	}
	var out []StepResponse
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("annotation %s of promotion %s is not a list of responses: %w", haulv1.AnnotationApprovalResponses, p.Name, err)
	}
	return out, nil
}

// Matches returns the indexes of the rules r meets.
func (c *WaitForApprovalConfig) Matches(r Responder) []int {
	var out []int
	for i, rule := range c.Approvers {
		if rule.Role != "" {
			if slices.Contains(r.Roles, rule.Role) {
				out = append(out, i)
			}
			continue
		}
		switch rule.Claim {
		case "groups":
			if slices.ContainsFunc(r.Groups, func(g string) bool { return g == rule.Value || unprefixed(g) == rule.Value }) {
				out = append(out, i)
			}
		case "email", "sub", "name", "preferred_username":
			if r.User == rule.Value || unprefixed(r.User) == rule.Value {
				out = append(out, i)
			}
		}
	}
	return out
}

// unprefixed drops the "oidc:"-style prefix Haul puts on OIDC users and groups.
func unprefixed(s string) string {
	if i := strings.Index(s, ":"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// ErrNotApprover means the responder matches none of the step's approvers.
var ErrNotApprover = errors.New("is not one of the step's approvers")

// ErrNotWaiting means the Promotion has no wait-for-approval step waiting.
var ErrNotWaiting = errors.New("no wait-for-approval step of the promotion is waiting")

// WaitingApprovalStep returns the alias and config of p's running wait-for-approval
// step. A config that uses expressions cannot be judged before the step renders it, so
// it is refused: Haul wants approvers written out.
func WaitingApprovalStep(p *haulv1.Promotion) (string, *WaitForApprovalConfig, error) {
	if p.Status.Phase != haulv1.PromotionRunning {
		return "", nil, fmt.Errorf("promotion %s is %s: %w", p.Name, orPending(p.Status.Phase), ErrNotWaiting)
	}
	i := int(p.Status.CurrentStep)
	if i < 0 || i >= len(p.Status.Steps) || p.Status.Steps[i].Uses != WaitForApprovalStep {
		return "", nil, fmt.Errorf("promotion %s: %w", p.Name, ErrNotWaiting)
	}
	step := p.Status.Steps[i]
	alias := step.As
	if alias == "" {
		alias = fmt.Sprintf("step-%d", i+1) // the engine's default alias
	}
	cfg := &WaitForApprovalConfig{}
	if step.Config != nil && len(step.Config.Raw) > 0 {
		if strings.Contains(string(step.Config.Raw), "${{") {
			return "", nil, fmt.Errorf("promotion %s step %s: the wait-for-approval config uses expressions; Haul checks approvers before the step renders them, so write them out", p.Name, alias)
		}
		if err := json.Unmarshal(step.Config.Raw, cfg); err != nil {
			return "", nil, fmt.Errorf("promotion %s step %s config: %w", p.Name, alias, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return "", nil, fmt.Errorf("promotion %s step %s config: %w", p.Name, alias, err)
	}
	return alias, cfg, nil
}

func orPending(p haulv1.PromotionPhase) string {
	if p == "" {
		return "Pending"
	}
	return string(p)
}

// RecordStepResponse adds who's answer to p's waiting wait-for-approval step, after
// checking they may answer: with approvers listed, only someone matching a rule may.
// Answering again replaces one's earlier answer. p is changed in place.
func RecordStepResponse(p *haulv1.Promotion, who Responder, action, message string, now time.Time) (StepResponse, error) {
	if action != ActionApprove && action != ActionReject {
		return StepResponse{}, fmt.Errorf("action %q must be approve or reject", action)
	}
	alias, cfg, err := WaitingApprovalStep(p)
	if err != nil {
		return StepResponse{}, err
	}
	rules := cfg.Matches(who)
	if len(cfg.Approvers) > 0 && len(rules) == 0 {
		return StepResponse{}, fmt.Errorf("user %q matches none of the approvers of promotion %s step %s: %w", who.User, p.Name, alias, ErrNotApprover)
	}
	all, err := StepResponses(p)
	if err != nil {
		return StepResponse{}, err
	}
	resp := StepResponse{Step: alias, User: who.User, Action: action, Time: now.UTC().Truncate(time.Second), Message: message, Rules: rules}
	all = slices.DeleteFunc(all, func(r StepResponse) bool { return r.Step == alias && r.User == who.User })
	all = append(all, resp)
	raw, err := json.Marshal(all)
	if err != nil {
		return StepResponse{}, err
	}
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[haulv1.AnnotationApprovalResponses] = string(raw)
	return resp, nil
}

// ApprovalDecision is where a wait-for-approval step stands.
type ApprovalDecision struct {
	// Approved: enough distinct people approved and every required rule has one.
	Approved bool
	// Rejected is the rejection that failed the step, if any.
	Rejected *StepResponse
	// Responses are this step's answers in the order given.
	Responses []StepResponse
	// Waiting says what is still missing.
	Waiting string
}

// DecideApproval judges the answers recorded for the step alias under cfg. A rejection
// by an eligible responder fails the step whatever else was said.
func DecideApproval(cfg *WaitForApprovalConfig, alias string, all []StepResponse) ApprovalDecision {
	var d ApprovalDecision
	approvers := map[string]bool{}
	met := map[int]bool{}
	for _, r := range all {
		if r.Step != alias {
			continue
		}
		d.Responses = append(d.Responses, r)
		switch r.Action {
		case ActionReject:
			if d.Rejected == nil {
				rr := r
				d.Rejected = &rr
			}
		case ActionApprove:
			approvers[r.User] = true
			for _, i := range r.Rules {
				met[i] = true
			}
		}
	}
	if d.Rejected != nil {
		return d
	}
	var missing []string
	if n := len(approvers); n < cfg.Min() {
		missing = append(missing, fmt.Sprintf("%d of %d approvals", n, cfg.Min()))
	}
	for i, rule := range cfg.Approvers {
		if rule.Required && !met[i] {
			if rule.Role != "" {
				missing = append(missing, "an approval from role "+rule.Role)
			} else {
				missing = append(missing, fmt.Sprintf("an approval from %s %s", rule.Claim, rule.Value))
			}
		}
	}
	if len(missing) == 0 {
		d.Approved = true
		return d
	}
	d.Waiting = strings.Join(missing, ", ")
	return d
}
