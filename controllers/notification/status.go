package notification

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/metrics"
	"github.com/haul-dev/haul/pkg/notify"
	"github.com/haul-dev/haul/pkg/redact"
)

// statusWriter records delivery outcomes in the channels' status.
type statusWriter struct {
	client client.Client
	// reader reads channels around the cache, so a retry after a conflict sees the
	// newest version.
	reader client.Reader
	log    logr.Logger
}

// record is the Dispatcher's Done: it counts the outcome and writes it to the
// channel's status (lastDelivery, lastFailure, counters), retrying on conflict.
func (w *statusWriter) record(o notify.Outcome) {
	result := "delivered"
	if o.Err != nil {
		result = "failed"
	}
	kind := o.Kind
	if kind == "" {
		kind = "unknown"
	}
	metrics.NotificationsSent.WithLabelValues(kind, result).Inc()
	d := haulv1.MessageDelivery{
		Event: o.Job.Event, Subject: o.Job.Subject, Router: o.Job.Router,
		Outcome: haulv1.DeliveryDelivered, Attempts: int32(min(o.Attempts, 1<<30)), //nolint:gosec // bounded
		Time: &metav1.Time{Time: o.At}, Message: o.Result.Detail,
	}
	if o.Err != nil {
		d.Outcome, d.Message = haulv1.DeliveryFailed, redact.String(o.Err.Error())
		w.log.Info("A message could not be delivered", "channel", o.Job.Channel.String(), "event", o.Job.Event,
			"subject", o.Job.Subject, "attempts", o.Attempts, "error", d.Message)
	}
	if len(d.Message) > 4096 {
		d.Message = d.Message[:4096]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.write(ctx, o.Job, d); err != nil {
		w.log.V(1).Info("Could not record a delivery in the channel's status", "channel", o.Job.Channel.String(), "error", err.Error())
	}
}

func (w *statusWriter) write(ctx context.Context, j notify.Job, d haulv1.MessageDelivery) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		var obj client.Object
		var st *haulv1.MessageChannelStatus
		switch j.Channel.Kind {
		case haulv1.ChannelKindCluster:
			c := &haulv1.ClusterMessageChannel{}
			if err := w.reader.Get(ctx, client.ObjectKey{Name: j.Channel.Name}, c); err != nil {
				return client.IgnoreNotFound(err)
			}
			obj, st = c, &c.Status
		default:
			c := &haulv1.MessageChannel{}
			if err := w.reader.Get(ctx, client.ObjectKey{Namespace: j.Project, Name: j.Channel.Name}, c); err != nil {
				return client.IgnoreNotFound(err)
			}
			obj, st = c, &c.Status
		}
		st.LastDelivery = &d
		if d.Outcome == haulv1.DeliveryFailed {
			st.LastFailure = &d
			st.Failed++
		} else {
			st.Delivered++
		}
		return w.client.Status().Update(ctx, obj)
	})
}
