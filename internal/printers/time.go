package printers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HumanDuration renders d the way kubectl does in an AGE column: 45s, 3m, 2h5m, 4d, 2y.
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < 10*time.Minute:
		m := int(d / time.Minute)
		if s := int((d % time.Minute) / time.Second); s != 0 {
			return fmt.Sprintf("%dm%ds", m, s)
		}
		return fmt.Sprintf("%dm", m)
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		h := int(d / time.Hour)
		if m := int((d % time.Hour) / time.Minute); m != 0 && h < 8 {
			return fmt.Sprintf("%dh%dm", h, m)
		}
		return fmt.Sprintf("%dh", h)
	case d < 365*24*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	default:
		return fmt.Sprintf("%dy", int(d/(365*24*time.Hour)))
	}
}

// Ago renders t relative to now ("3m ago"), or "-" when t is unset.
func Ago(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return HumanDuration(now.Sub(t.Time)) + " ago"
}

// AgoPtr is Ago for optional timestamps.
func AgoPtr(t *metav1.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return Ago(*t, now)
}
