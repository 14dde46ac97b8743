package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEvaluateWindows(t *testing.T) {
	businessHours := haulv1.PromotionWindow{
		Name: "business-hours", Kind: haulv1.PromotionWindowAllow, RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH",
		DTStart: "TZID=Europe/Berlin:20260105T090000", DTEnd: "TZID=Europe/Berlin:20260105T170000",
	}
	lunch := haulv1.PromotionWindow{
		Name: "lunch-freeze", Kind: haulv1.PromotionWindowDeny,
		DTStart: "20260106T110000Z", DTEnd: "20260106T120000Z",
	}
	christmas := haulv1.PromotionWindow{
		Name: "christmas", Kind: haulv1.PromotionWindowDeny,
		DTStart: "20261224T000000Z", DTEnd: "20261227T000000Z",
	}
	morning := haulv1.PromotionWindow{ // daily 09:00-10:00 Berlin, across the March DST change
		Name: "morning", Kind: haulv1.PromotionWindowAllow, RRule: "FREQ=DAILY",
		DTStart: "TZID=Europe/Berlin:20260320T090000", DTEnd: "TZID=Europe/Berlin:20260320T100000",
	}
	tests := map[string]struct {
		windows   []haulv1.PromotionWindow
		now       string
		open      bool
		window    string
		nextOpen  string
		nextClose string
		reason    string
	}{
		"no window is always open": {now: "2026-01-05T03:00:00Z", open: true},
		"inside an Allow window (Monday 10:00 Berlin)": {
			windows: []haulv1.PromotionWindow{businessHours}, now: "2026-01-05T09:00:00Z",
			open: true, window: "business-hours", nextClose: "2026-01-05T16:00:00Z",
		},
		"Friday is outside the Allow window until Monday 09:00 Berlin": {
			windows: []haulv1.PromotionWindow{businessHours}, now: "2026-01-09T10:00:00Z",
			open: false, window: "business-hours", nextOpen: "2026-01-12T08:00:00Z",
			reason: "promotion window closed until 2026-01-12T08:00:00Z (window business-hours)",
		},
		"the end of an occurrence is outside it": {
			windows: []haulv1.PromotionWindow{businessHours}, now: "2026-01-05T16:00:00Z",
			open: false, window: "business-hours", nextOpen: "2026-01-06T08:00:00Z",
		},
		"the start of an occurrence is inside it": {
			windows: []haulv1.PromotionWindow{businessHours}, now: "2026-01-05T08:00:00Z",
			open: true, window: "business-hours", nextClose: "2026-01-05T16:00:00Z",
		},
		"a Deny window inside an Allow window closes it": {
			windows: []haulv1.PromotionWindow{businessHours, lunch}, now: "2026-01-06T11:30:00Z",
			open: false, window: "lunch-freeze", nextOpen: "2026-01-06T12:00:00Z",
			reason: "promotion window closed until 2026-01-06T12:00:00Z (window lunch-freeze)",
		},
		"open before the Deny window, which closes it next": {
			windows: []haulv1.PromotionWindow{businessHours, lunch}, now: "2026-01-06T09:00:00Z",
			open: true, window: "business-hours", nextClose: "2026-01-06T11:00:00Z",
		},
		"a one-shot Deny window freezes until its end": {
			windows: []haulv1.PromotionWindow{christmas}, now: "2026-12-25T10:00:00Z",
			open: false, window: "christmas", nextOpen: "2026-12-27T00:00:00Z",
		},
		"after a one-shot Deny window nothing closes again": {
			windows: []haulv1.PromotionWindow{christmas}, now: "2026-12-28T10:00:00Z", open: true,
		},
		"before a one-shot Deny window it closes at its start": {
			windows: []haulv1.PromotionWindow{christmas}, now: "2026-12-20T10:00:00Z", open: true,
			nextClose: "2026-12-24T00:00:00Z",
		},
		"winter time: 09:00 Berlin is 08:00 UTC": {
			windows: []haulv1.PromotionWindow{morning}, now: "2026-03-27T08:30:00Z",
			open: true, window: "morning", nextClose: "2026-03-27T09:00:00Z",
		},
		"summer time: 09:00 Berlin is 07:00 UTC, so 08:30 UTC is outside": {
			windows: []haulv1.PromotionWindow{morning}, now: "2026-03-30T08:30:00Z",
			open: false, window: "morning", nextOpen: "2026-03-31T07:00:00Z",
		},
		"the night of the DST change keeps the wall-clock start": {
			windows: []haulv1.PromotionWindow{morning}, now: "2026-03-28T12:00:00Z",
			open: false, window: "morning", nextOpen: "2026-03-29T07:00:00Z",
		},
		"an elapsed one-shot Allow window never reopens": {
			windows: []haulv1.PromotionWindow{{Name: "once", Kind: haulv1.PromotionWindowAllow, DTStart: "20260101", DTEnd: "20260102"}},
			now:     "2026-02-01T00:00:00Z", open: false, window: "once",
			reason: "promotion window closed with no known reopening (window once)",
		},
		"a rule with UNTIL stops recurring": {
			windows: []haulv1.PromotionWindow{{Name: "jan", Kind: haulv1.PromotionWindowAllow, RRule: "FREQ=DAILY;UNTIL=20260110T000000Z",
				DTStart: "20260101T090000Z", DTEnd: "20260101T100000Z"}},
			now: "2026-01-09T12:00:00Z", open: false, window: "jan",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := EvaluateWindows(tc.windows, utc(tc.now))
			if st.Open != tc.open || st.Window != tc.window {
				t.Fatalf("open=%v window=%q, want open=%v window=%q (%+v)", st.Open, st.Window, tc.open, tc.window, st)
			}
			if got := fmtTime(st.NextOpen); got != tc.nextOpen {
				t.Errorf("nextOpen = %s, want %s", got, tc.nextOpen)
			}
			if got := fmtTime(st.NextClose); got != tc.nextClose {
				t.Errorf("nextClose = %s, want %s", got, tc.nextClose)
			}
			if tc.reason != "" && st.Reason() != tc.reason {
				t.Errorf("reason = %q, want %q", st.Reason(), tc.reason)
			}
		})
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func TestParseWindowRefusesBadValues(t *testing.T) {
	ok := haulv1.PromotionWindow{Name: "w", Kind: haulv1.PromotionWindowDeny, DTStart: "20260101T000000Z", DTEnd: "20260102T000000Z"}
	tests := map[string]struct {
		edit func(*haulv1.PromotionWindow)
		want string
	}{
		"unknown frequency": {func(w *haulv1.PromotionWindow) { w.RRule = "FREQ=SOMETIMES" }, `spec.promotionWindows[0].rrule "FREQ=SOMETIMES"`},
		"unknown zone":      {func(w *haulv1.PromotionWindow) { w.DTStart = "TZID=Mars/Olympus:20260101T000000" }, `spec.promotionWindows[0].dtstart "TZID=Mars/Olympus:20260101T000000": unknown time zone "Mars/Olympus"`},
		"not a date-time":   {func(w *haulv1.PromotionWindow) { w.DTEnd = "tomorrow" }, `spec.promotionWindows[0].dtend "tomorrow"`},
		"end before start":  {func(w *haulv1.PromotionWindow) { w.DTEnd = "20251231T000000Z" }, `spec.promotionWindows[0].dtend "20251231T000000Z": must be after dtstart`},
		"a minutely rule from years ago": {func(w *haulv1.PromotionWindow) {
			w.RRule, w.DTStart, w.DTEnd = "FREQ=MINUTELY", "20200101T000000Z", "20200101T000030Z"
		}, "more than 200000 occurrences"},
		"DTSTART inside the rule": {func(w *haulv1.PromotionWindow) { w.RRule = "DTSTART:20260101T000000Z;FREQ=DAILY" }, `spec.promotionWindows[0].rrule`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := ok
			tc.edit(&w)
			err := ValidateWindows("spec.promotionWindows", []haulv1.PromotionWindow{w})
			var we *WindowError
			if !errors.As(err, &we) || !contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := ValidateWindows("spec.promotionWindows", []haulv1.PromotionWindow{ok}); err != nil {
		t.Fatalf("valid window refused: %v", err)
	}
}

func TestInvalidWindowClosesTheSchedule(t *testing.T) {
	st := EvaluateWindows([]haulv1.PromotionWindow{{Name: "bad", Kind: haulv1.PromotionWindowDeny, DTStart: "x", DTEnd: "y"}}, utc("2026-01-01T00:00:00Z"))
	if st.Open || st.Invalid == nil || !contains(st.Reason(), "dtstart") {
		t.Fatalf("state = %+v, reason %q; want closed naming dtstart", st, st.Reason())
	}
}

func TestWindowsFor(t *testing.T) {
	prod := &haulv1.Stage{}
	prod.Name, prod.Namespace, prod.Labels = "prod", "shop", map[string]string{"tier": "prod"}
	dev := &haulv1.Stage{}
	dev.Name, dev.Namespace = "dev", "shop"
	w := func(name string, stage, project *haulv1.StageSelector) haulv1.PromotionWindow {
		return haulv1.PromotionWindow{Name: name, StageSelector: stage, ProjectSelector: project}
	}
	cfg := &haulv1.ProjectConfig{Spec: haulv1.ProjectConfigSpec{PromotionWindows: []haulv1.PromotionWindow{
		w("prod-only", &haulv1.StageSelector{MatchLabels: map[string]string{"tier": "prod"}}, nil),
		w("all", nil, nil),
	}}}
	cc := &haulv1.ClusterConfig{Spec: haulv1.ClusterConfigSpec{PromotionWindows: []haulv1.PromotionWindow{
		w("freeze", nil, nil),
		w("other-project", nil, &haulv1.StageSelector{Name: "glob:bank-*"}),
		w("labelled-projects", nil, &haulv1.StageSelector{MatchLabels: map[string]string{"env": "regulated"}}),
		w("bad-selector", &haulv1.StageSelector{Name: "regex:("}, nil),
	}}}
	proj := &haulv1.Project{}
	proj.Name, proj.Labels = "shop", map[string]string{"env": "regulated"}
	names := func(ws []haulv1.PromotionWindow) (out []string) {
		for _, w := range ws {
			out = append(out, w.Name)
		}
		return out
	}
	tests := map[string]struct {
		stage   *haulv1.Stage
		project *haulv1.Project
		want    []string
	}{
		"prod gets its label's window, the project's and the cluster's": {prod, proj, []string{"freeze", "labelled-projects", "prod-only", "all"}},
		"dev is not selected by the prod window":                        {dev, proj, []string{"freeze", "labelled-projects", "all"}},
		"without the Project a label projectSelector selects nothing":   {dev, nil, []string{"freeze", "all"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := names(WindowsFor(cfg, cc, tc.project, tc.stage)); !equal(got, tc.want) {
				t.Fatalf("windows = %v, want %v", got, tc.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func equal(a, b []string) bool { return slices.Equal(a, b) }
