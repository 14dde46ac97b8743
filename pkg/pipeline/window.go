package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Promotion windows (Kargo's PromotionWindow): a Stage's schedule is open when no Deny
// window that selects it is active and, if any Allow window selects it, one of those
// is active. Every Promotion — automatic, manual, rollback — waits for an open
// schedule unless a user with the override verb let it through.

// WindowError is a promotion window field that cannot be parsed, e.g.
// `spec.promotionWindows[0].rrule "FREQ=SOMETIMES": invalid frequency`.
type WindowError struct {
	// Field is the field's path, Value its value.
	Field, Value string
	// Err says what is wrong with it.
	Err error
}

func (e *WindowError) Error() string { return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err) }

func (e *WindowError) Unwrap() error { return e.Err }

func windowErr(field, value string, err error) error {
	return &WindowError{Field: field, Value: value, Err: err}
}

// windowHorizon is how far ahead the next opening or closing is looked for.
const windowHorizon = 366 * 24 * time.Hour

// maxWindowSteps bounds the window boundaries walked looking for the next change.
const maxWindowSteps = 1000

// Window is a parsed PromotionWindow.
type Window struct {
	// Name and Kind are the window's own.
	Name  string
	Kind  haulv1.PromotionWindowKind
	rule  *rrule.RRule // nil: one interval from start
	text  string       // the rrule as written
	start time.Time
	dur   time.Duration
	// occ are the starts of the occurrences that may be active from the moment expand
	// was given to a year later, in order.
	occ []time.Time
}

// ParseWindow parses w's rrule, dtstart and dtend. Its errors name the field (under
// path, e.g. "spec.promotionWindows[0]") and the value.
func ParseWindow(path string, w haulv1.PromotionWindow) (*Window, error) {
	if w.Kind != haulv1.PromotionWindowAllow && w.Kind != haulv1.PromotionWindowDeny {
		return nil, windowErr(path+".kind", string(w.Kind), errors.New("must be Allow or Deny"))
	}
	start, err := ParseICalTime(w.DTStart)
	if err != nil {
		return nil, windowErr(path+".dtstart", w.DTStart, err)
	}
	end, err := ParseICalTime(w.DTEnd)
	if err != nil {
		return nil, windowErr(path+".dtend", w.DTEnd, err)
	}
	if !end.After(start) {
		return nil, windowErr(path+".dtend", w.DTEnd, fmt.Errorf("must be after dtstart %q", w.DTStart))
	}
	out := &Window{Name: w.Name, Kind: w.Kind, start: start, dur: end.Sub(start)}
	if w.RRule == "" {
		return out, nil
	}
	if strings.Contains(strings.ToUpper(w.RRule), "DTSTART") {
		return nil, windowErr(path+".rrule", w.RRule, errors.New("set the start in dtstart, not in the rule"))
	}
	opt, err := rrule.StrToROption(strings.TrimPrefix(w.RRule, "RRULE:"))
	if err != nil {
		return nil, windowErr(path+".rrule", w.RRule, err)
	}
	opt.Dtstart = start
	rule, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, windowErr(path+".rrule", w.RRule, err)
	}
	out.rule, out.text = rule, w.RRule
	return out, nil
}

// ParseICalTime parses an iCal date-time as Kargo's windows take it:
// "TZID=Europe/Berlin:20260101T090000" (wall time in the zone), "20260101T090000Z"
// (UTC) or "20260101T090000" (taken as UTC); a date alone ("20260101") is midnight.
func ParseICalTime(v string) (time.Time, error) {
	loc, s := time.UTC, v
	if rest, ok := strings.CutPrefix(v, "TZID="); ok {
		zone, dt, found := strings.Cut(rest, ":")
		if !found {
			return time.Time{}, errors.New(`expected TZID=Zone:YYYYMMDDTHHMMSS`)
		}
		l, err := time.LoadLocation(zone)
		if err != nil || zone == "" {
			return time.Time{}, fmt.Errorf("unknown time zone %q", zone)
		}
		if strings.HasSuffix(dt, "Z") {
			return time.Time{}, errors.New("a TZID time must not end in Z")
		}
		loc, s = l, dt
	}
	s = strings.TrimSuffix(s, "Z")
	for _, layout := range []string{"20060102T150405", "20060102"} {
		if len(s) == len(layout) {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, errors.New("expected an iCal date-time such as 20260101T090000, 20260101T090000Z or TZID=Europe/Berlin:20260101T090000")
}

// maxOccurrences bounds the occurrences of one rule walked from dtstart to a year
// ahead, so a minutely rule from years ago cannot stall a reconcile.
const maxOccurrences = 200_000

// expand lists w's occurrences that may be active between now and a year later. The
// rule is walked once from dtstart; every later question is a search in the list.
func (w *Window) expand(path string, now time.Time) error {
	if w.rule == nil {
		w.occ = []time.Time{w.start}
		return nil
	}
	from, to := now.Add(-w.dur), now.Add(windowHorizon)
	next := w.rule.Iterator()
	w.occ = nil
	for n := 0; ; n++ {
		if n == maxOccurrences {
			return windowErr(path+".rrule", w.text, fmt.Errorf("more than %d occurrences from dtstart to a year from now; use a later dtstart or a less frequent rule", maxOccurrences))
		}
		t, ok := next()
		if !ok || t.After(to) {
			return nil
		}
		if t.After(from) {
			w.occ = append(w.occ, t)
		}
	}
}

// activeUntil says whether w is active at t, and if so when that occurrence ends.
func (w *Window) activeUntil(t time.Time) (time.Time, bool) {
	i := sort.Search(len(w.occ), func(i int) bool { return w.occ[i].After(t) }) - 1
	if i < 0 {
		return time.Time{}, false
	}
	end := w.occ[i].Add(w.dur)
	if !end.After(t) {
		return time.Time{}, false
	}
	return end, true
}

// nextEdge is w's first start or end after t (zero when there is none).
func (w *Window) nextEdge(t time.Time) time.Time {
	var next time.Time
	if end, ok := w.activeUntil(t); ok {
		next = end
	}
	if i := sort.Search(len(w.occ), func(i int) bool { return w.occ[i].After(t) }); i < len(w.occ) {
		if start := w.occ[i]; next.IsZero() || start.Before(next) {
			next = start
		}
	}
	return next
}

// WindowState is a Stage's schedule at one moment.
type WindowState struct {
	// Gated says some window selects the Stage; without one the schedule is always open.
	Gated bool
	// Open says a Promotion may start now.
	Open bool
	// Window is the deciding window: the active Deny one, or the active Allow one, or
	// (closed without a Deny) the Allow window that opens next.
	Window string
	// Invalid is set when a selected window cannot be parsed: it closes the schedule
	// (an unreadable freeze must not let promotions through).
	Invalid error
	// NextOpen (closed) and NextClose (open) are the next change, zero when none is
	// known within a year; NextWindow is the window that makes it.
	NextOpen, NextClose time.Time
	NextWindow          string
}

// EvaluateWindows evaluates the schedule of windows (those that select one Stage) at
// now and finds its next change.
func EvaluateWindows(windows []haulv1.PromotionWindow, now time.Time) WindowState {
	if len(windows) == 0 {
		return WindowState{Open: true}
	}
	now = now.Truncate(time.Second)
	ws := make([]*Window, 0, len(windows))
	for _, w := range windows {
		path := fmt.Sprintf("promotionWindows[%s]", w.Name)
		pw, err := ParseWindow(path, w)
		if err == nil {
			err = pw.expand(path, now)
		}
		if err != nil {
			return WindowState{Gated: true, Window: w.Name, Invalid: err}
		}
		ws = append(ws, pw)
	}
	st := WindowState{Gated: true}
	st.Open, st.Window = openAt(ws, now)
	t := now
	for range maxWindowSteps {
		next := time.Time{}
		for _, w := range ws {
			if e := w.nextEdge(t); !e.IsZero() && (next.IsZero() || e.Before(next)) {
				next = e
			}
		}
		if next.IsZero() || next.Sub(now) > windowHorizon {
			break
		}
		open, win := openAt(ws, next)
		if open != st.Open {
			if open {
				st.NextOpen = next
			} else {
				st.NextClose = next
			}
			st.NextWindow = win
			break
		}
		t = next
	}
	if !st.Open && st.Window == "" {
		st.Window = st.NextWindow
		if st.Window == "" {
			st.Window = firstAllow(ws)
		}
	}
	return st
}

// openAt is the schedule of ws at t and the window that decides it.
func openAt(ws []*Window, t time.Time) (bool, string) {
	allowed, anyAllow := "", false
	for _, w := range ws {
		_, active := w.activeUntil(t)
		switch {
		case w.Kind == haulv1.PromotionWindowDeny && active:
			return false, w.Name
		case w.Kind == haulv1.PromotionWindowAllow:
			anyAllow = true
			if active && allowed == "" {
				allowed = w.Name
			}
		}
	}
	if allowed != "" {
		return true, allowed
	}
	return !anyAllow, ""
}

func firstAllow(ws []*Window) string {
	for _, w := range ws {
		if w.Kind == haulv1.PromotionWindowAllow {
			return w.Name
		}
	}
	return ""
}

// Reason says why the schedule is closed, the message a waiting Promotion and a refused
// request carry: "promotion window closed until 2026-01-05T08:00:00Z (window
// business-hours)". It is "" while open.
func (st WindowState) Reason() string {
	switch {
	case st.Open:
		return ""
	case st.Invalid != nil:
		return fmt.Sprintf("promotion window closed: %v", st.Invalid)
	case st.NextOpen.IsZero():
		return fmt.Sprintf("promotion window closed with no known reopening (window %s)", st.Window)
	default:
		return fmt.Sprintf("promotion window closed until %s (window %s)", st.NextOpen.UTC().Format(time.RFC3339), st.Window)
	}
}

// Status is the Stage status of the schedule, nil when no window selects the Stage.
func (st WindowState) Status() *haulv1.PromotionWindowStatus {
	if !st.Gated {
		return nil
	}
	out := &haulv1.PromotionWindowStatus{Closed: !st.Open, Reason: st.Reason(), Window: st.Window}
	if !st.NextOpen.IsZero() {
		out.NextOpen = &metav1.Time{Time: st.NextOpen.UTC()}
	}
	if !st.NextClose.IsZero() {
		out.NextClose = &metav1.Time{Time: st.NextClose.UTC()}
		out.NextCloseReason = fmt.Sprintf("window %s", st.NextWindow)
	}
	return out
}

// WindowsFor are the promotion windows that select Stage s: the project's (cfg) and
// the cluster's (cc) whose projectSelector selects the project (project may be nil:
// then only its name is known and label selectors select nothing). A selector that
// cannot be parsed selects nothing, as promotion policies do.
func WindowsFor(cfg *haulv1.ProjectConfig, cc *haulv1.ClusterConfig, project *haulv1.Project, s *haulv1.Stage) []haulv1.PromotionWindow {
	var out []haulv1.PromotionWindow
	if cc != nil {
		for _, w := range cc.Spec.PromotionWindows {
			if w.ProjectSelector != nil && !projectSelected(*w.ProjectSelector, s.Namespace, project) {
				continue
			}
			if w.StageSelector != nil {
				if ok, _ := SelectorMatches(*w.StageSelector, s); !ok {
					continue
				}
			}
			out = append(out, w)
		}
	}
	if cfg != nil {
		for _, w := range cfg.Spec.PromotionWindows {
			if w.StageSelector != nil {
				if ok, _ := SelectorMatches(*w.StageSelector, s); !ok {
					continue
				}
			}
			out = append(out, w)
		}
	}
	return out
}

func projectSelected(sel haulv1.StageSelector, name string, project *haulv1.Project) bool {
	if ok, err := nameMatches(sel.Name, name); err != nil || !ok {
		return false
	}
	if len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
		return true
	}
	if project == nil {
		return false
	}
	ls, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: sel.MatchLabels, MatchExpressions: sel.MatchExpressions})
	return err == nil && ls.Matches(labels.Set(project.Labels))
}

// ValidateWindows refuses windows that cannot be parsed, naming the field (under path,
// e.g. "spec.promotionWindows") and the value.
func ValidateWindows(path string, windows []haulv1.PromotionWindow) error {
	now := time.Now()
	for i, w := range windows {
		at := fmt.Sprintf("%s[%d]", path, i)
		pw, err := ParseWindow(at, w)
		if err == nil {
			err = pw.expand(at, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// WindowOverride is the haul.dev/window-override value recording that actor let a
// Promotion through closed windows, and why.
func WindowOverride(actor, reason string) string {
	return actor + ": " + reason
}
