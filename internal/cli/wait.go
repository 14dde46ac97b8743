package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/printers"
)

// pollInterval is how often --wait re-reads the object it follows.
var pollInterval = 500 * time.Millisecond

// isTerminal says whether w is a terminal, where progress is redrawn in place. Tests
// replace it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stepRow is one line of progress.
type stepRow struct {
	alias, uses, status, elapsed, message string
}

func progressRows(p *haulv1.Promotion, t time.Time) []stepRow {
	meta := map[string]haulv1.StepExecutionMetadata{}
	for _, m := range p.Status.StepExecutionMetadata {
		meta[m.Alias] = m
	}
	rows := make([]stepRow, 0, len(p.Status.Steps))
	for i, st := range p.Status.Steps {
		alias := printers.StepAlias(st, i)
		uses := st.Uses
		if st.Task != nil {
			uses = "task:" + st.Task.Name
		}
		r := stepRow{alias: alias, uses: uses, status: string(haulv1.StepPending)}
		if m, ok := meta[alias]; ok {
			if m.Status != "" {
				r.status = string(m.Status)
			}
			r.message = m.Message
			if m.StartedAt != nil {
				end := t
				if m.FinishedAt != nil {
					end = m.FinishedAt.Time
				}
				r.elapsed = printers.HumanDuration(end.Sub(m.StartedAt.Time))
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func (r stepRow) String() string {
	s := fmt.Sprintf("  %-20s %-22s %-10s %s", r.alias, r.uses, r.status, r.elapsed)
	if r.message != "" && r.status != string(haulv1.StepSucceeded) {
		s += "  " + printers.Truncate(strings.ReplaceAll(r.message, "\n", " "), 100)
	}
	return strings.TrimRight(s, " ")
}

// waitForPromotion follows a Promotion until it ends. On a terminal the step table is
// redrawn in place; otherwise a line is printed whenever a step changes. It returns nil
// only when the Promotion Succeeded.
func waitForPromotion(ctx context.Context, s *session, ns, name string, out io.Writer, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tty := isTerminal(out)
	drawn := 0
	lastPhase := haulv1.PromotionPhase("")
	lastStatus := map[string]string{}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	k := kindByKind("Promotion")
	for {
		p := &haulv1.Promotion{}
		if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			if ctx.Err() != nil {
				return timeoutError(name, lastPhase, timeout)
			}
			return translate(err, opFor("get", k, name, ns))
		}
		t := now()
		rows := progressRows(p, t)
		phase := p.Status.Phase
		if phase == "" {
			phase = haulv1.PromotionPending
		}
		if tty {
			if drawn > 0 {
				_, _ = fmt.Fprintf(out, "\x1b[%dA\x1b[J", drawn)
			}
			lines := []string{fmt.Sprintf("Promotion %s: %s%s", name, phase, elapsedSuffix(p, t))}
			for _, r := range rows {
				lines = append(lines, r.String())
			}
			_, _ = fmt.Fprintln(out, strings.Join(lines, "\n"))
			drawn = len(lines)
		} else {
			if phase != lastPhase && !phase.IsTerminal() {
				_, _ = fmt.Fprintf(out, "Promotion %s: %s\n", name, phase)
			}
			for _, r := range rows {
				if r.status == string(haulv1.StepPending) {
					continue
				}
				if lastStatus[r.alias] != r.status {
					_, _ = fmt.Fprintln(out, r.String())
					lastStatus[r.alias] = r.status
				}
			}
		}
		lastPhase = phase
		if phase.IsTerminal() {
			if phase == haulv1.PromotionSucceeded {
				awaitStageRecord(ctx, s, p)
			}
			return finished(p, t, out)
		}
		select {
		case <-ctx.Done():
			return timeoutError(name, lastPhase, timeout)
		case <-ticker.C:
		}
	}
}

// stageRecordWait bounds how long --wait waits, after a Promotion Succeeded, for its
// Stage to record it.
var stageRecordWait = 10 * time.Second

// awaitStageRecord waits until p's Stage records p as its last Promotion (the Stage
// controller writes that a moment after the Promotion ends), so a script that runs
// `haul get stage` after `haul promote --wait` sees the Freight it promoted. It stops
// early when another Promotion of the Stage is running, and gives up quietly after
// stageRecordWait or if the Stage cannot be read: the Promotion did succeed.
func awaitStageRecord(ctx context.Context, s *session, p *haulv1.Promotion) {
	ctx, cancel := context.WithTimeout(ctx, stageRecordWait)
	defer cancel()
	for {
		st := &haulv1.Stage{}
		if err := s.client.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Stage}, st); err != nil {
			return
		}
		if last := st.Status.LastPromotion; last != nil && last.Name == p.Name {
			return
		}
		if cur := st.Status.CurrentPromotion; cur != nil && cur.Name != p.Name {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval / 5):
		}
	}
}

func elapsedSuffix(p *haulv1.Promotion, t time.Time) string {
	if p.Status.StartedAt == nil {
		return ""
	}
	end := t
	if p.Status.FinishedAt != nil {
		end = p.Status.FinishedAt.Time
	}
	return " (" + printers.HumanDuration(end.Sub(p.Status.StartedAt.Time)) + ")"
}

func finished(p *haulv1.Promotion, t time.Time, out io.Writer) error {
	if p.Status.Phase == haulv1.PromotionSucceeded {
		took := ""
		if p.Status.StartedAt != nil {
			end := t
			if p.Status.FinishedAt != nil {
				end = p.Status.FinishedAt.Time
			}
			took = " in " + printers.HumanDuration(end.Sub(p.Status.StartedAt.Time))
		}
		_, _ = fmt.Fprintf(out, "Promotion %s Succeeded%s\n", p.Name, took)
		return nil
	}
	msg := p.Status.Message
	if msg == "" {
		msg = "no message"
	}
	return &exitError{code: 1, err: fmt.Errorf("promotion %s %s: %s", p.Name, p.Status.Phase, msg)}
}

func timeoutError(name string, phase haulv1.PromotionPhase, timeout time.Duration) error {
	return &exitError{code: 2, err: fmt.Errorf("promotion %s still %s after %s; it keeps running (follow it with `haul logs promotion %s`)", name, phase, timeout, name)}
}
