package notify

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Source resolves channels; *Resolver is the one Haul uses.
type Source interface {
	Resolve(ctx context.Context, project string, ref ChannelRef) (*Channel, error)
}

// Job is one message for one channel, queued for background delivery.
type Job struct {
	// Project is the namespace a MessageChannel is looked up in ("" for cluster routers).
	Project string
	Channel ChannelRef
	Message Message
	// Event is the event type or "send-message"; Subject the object it is about;
	// Router the router that made the job. They only label the outcome.
	Event   string
	Subject string
	Router  string
}

// Outcome is how a Job ended: delivered (Err nil) or dropped after its attempts.
type Outcome struct {
	Job      Job
	Kind     string // slack, teams, http, smtp ("" when the channel could not be read)
	Attempts int
	Result   Result
	Err      error // secret-free
	At       time.Time
}

// Dispatcher delivers Jobs in the background: a bounded queue, a few workers, and
// retries with exponential backoff and jitter. Enqueue never blocks.
type Dispatcher struct {
	Resolver Source
	Sender   *Sender
	// MaxAttempts per Job (default 5); InitialBackoff (default 2s) doubles per
	// attempt up to MaxBackoff (default 1m), with up to 20% jitter.
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Workers deliver concurrently (default 4); QueueSize bounds waiting Jobs (default
	// 1000; beyond it Jobs are dropped and reported as such).
	Workers   int
	QueueSize int
	// Done is called once per Job with its outcome (status, events, metrics).
	Done   func(Outcome)
	Logger logr.Logger

	once  sync.Once
	queue chan Job
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		if d.QueueSize <= 0 {
			d.QueueSize = 1000
		}
		d.queue = make(chan Job, d.QueueSize)
	})
}

// ErrQueueFull is the Outcome error of a Job dropped because the queue was full.
type queueFullError struct{}

func (queueFullError) Error() string { return "notification queue is full; message dropped" }

// Enqueue queues j and returns at once; when the queue is full j is dropped and its
// outcome reported.
func (d *Dispatcher) Enqueue(j Job) {
	d.init()
	select {
	case d.queue <- j:
	default:
		d.done(Outcome{Job: j, Err: queueFullError{}, At: time.Now()})
	}
}

// Start runs the workers until ctx ends (a controller-runtime Runnable).
func (d *Dispatcher) Start(ctx context.Context) error {
	d.init()
	n := d.Workers
	if n <= 0 {
		n = 4
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-d.queue:
					d.done(d.deliver(ctx, j))
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// NeedLeaderElection is false: every replica delivers what its own controllers publish.
func (d *Dispatcher) NeedLeaderElection() bool { return false }

func (d *Dispatcher) done(o Outcome) {
	if d.Done != nil {
		d.Done(o)
	}
}

// deliver tries j up to MaxAttempts times. The channel and its Secret are read
// again on every attempt, so fixing a Secret lets a retry succeed.
func (d *Dispatcher) deliver(ctx context.Context, j Job) Outcome {
	attempts := d.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	backoff := d.InitialBackoff
	if backoff <= 0 {
		backoff = 2 * time.Second
	}
	maxBackoff := d.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = time.Minute
	}
	o := Outcome{Job: j}
	for o.Attempts < attempts {
		o.Attempts++
		ch, err := d.Resolver.Resolve(ctx, j.Project, j.Channel)
		if err == nil {
			o.Kind = ch.KindName()
			o.Result, err = d.Sender.Send(ctx, ch, j.Message)
		}
		o.Err, o.At = err, time.Now()
		if err == nil {
			return o
		}
		d.Logger.V(1).Info("Message delivery failed", "channel", j.Channel.String(), "event", j.Event, "attempt", o.Attempts, "error", err.Error())
		if IsPermanent(err) || o.Attempts >= attempts {
			return o
		}
		wait := backoff + time.Duration(rand.Int64N(int64(backoff)/5+1)) //nolint:gosec // jitter, not security
		select {
		case <-ctx.Done():
			o.Err = ctx.Err()
			return o
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxBackoff)
	}
	return o
}

// SendNow delivers m synchronously with up to attempts tries, quickly backed off
// (250ms doubling): the send-message step's path.
func SendNow(ctx context.Context, r Source, s *Sender, project string, ref ChannelRef, m Message, attempts int) (Result, error) {
	backoff := 250 * time.Millisecond
	var lastErr error
	for i := 0; i < max(attempts, 1); i++ {
		ch, err := r.Resolve(ctx, project, ref)
		if err != nil {
			return Result{}, err
		}
		res, err := s.Send(ctx, ch, m)
		if err == nil {
			return res, nil
		}
		lastErr = err
		if IsPermanent(err) {
			break
		}
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	return Result{}, lastErr
}
