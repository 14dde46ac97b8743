package notification

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/notify"
	"github.com/haul-dev/haul/promotion"
)

// Router routes events to channels; it is the notify.Hub of a Haul controller.
type Router struct {
	// Client lists EventRouters and ClusterEventRouters (the manager's cached client).
	Client client.Reader
	// Dispatcher delivers routed messages in the background.
	Dispatcher *notify.Dispatcher
	// Resolver and Sender deliver send-message messages at once.
	Resolver notify.Source
	Sender   *notify.Sender
	Logger   logr.Logger

	mu   sync.Mutex
	seen map[string]struct{}
	// order remembers seen IDs oldest first, to bound seen.
	order []string
}

// evaluator compiles routers' when and output expressions over type, event and data.
var evaluator = promotion.NewEvaluatorWith(map[string]any{"type": "", "event": map[string]any{}, "data": map[string]any{}})

// maxSeen bounds how many event IDs the Router remembers to publish each once.
const maxSeen = 10000

var _ notify.Hub = (*Router)(nil)

// Send delivers m to ref now (the send-message step), with three quick tries.
func (r *Router) Send(ctx context.Context, project string, ref notify.ChannelRef, m notify.Message) (notify.Result, error) {
	return notify.SendNow(ctx, r.Resolver, r.Sender, project, ref, m, 3)
}

// Publish routes e once: a second event with the same ID is ignored.
func (r *Router) Publish(ctx context.Context, e notify.Event) {
	if !r.firstTime(e.ID) {
		return
	}
	jobs, err := r.Route(ctx, e)
	if err != nil {
		r.Logger.Error(err, "Routing an event failed", "event", e.Type, "project", e.Project, "id", e.ID)
	}
	for _, j := range jobs {
		r.Dispatcher.Enqueue(j)
	}
}

func (r *Router) firstTime(id string) bool {
	if id == "" {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]struct{}{}
	}
	if _, ok := r.seen[id]; ok {
		return false
	}
	r.seen[id] = struct{}{}
	r.order = append(r.order, id)
	if len(r.order) > maxSeen {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	return true
}

// routed is one router, namespaced or cluster-wide, as Route sees it.
type routed struct {
	name    string // "EventRouter/<ns>/<name>" or "ClusterEventRouter/<name>"
	project string // where its MessageChannels live ("" for cluster routers)
	spec    haulv1.EventRouterSpec
}

// Route returns the messages e produces: one per channel of every router whose types
// include e.Type and whose `when` holds. A router whose expression or output fails
// is skipped (the error says which); the others still route.
func (r *Router) Route(ctx context.Context, e notify.Event) ([]notify.Job, error) {
	var routers []routed
	var list haulv1.EventRouterList
	if err := r.Client.List(ctx, &list, client.InNamespace(e.Project)); err != nil {
		return nil, fmt.Errorf("listing EventRouters of project %q: %w", e.Project, err)
	}
	for _, er := range list.Items {
		routers = append(routers, routed{name: "EventRouter/" + er.Namespace + "/" + er.Name, project: er.Namespace, spec: er.Spec})
	}
	var clusterList haulv1.ClusterEventRouterList
	if err := r.Client.List(ctx, &clusterList); err != nil {
		return nil, fmt.Errorf("listing ClusterEventRouters: %w", err)
	}
	for _, cer := range clusterList.Items {
		routers = append(routers, routed{name: "ClusterEventRouter/" + cer.Name, spec: cer.Spec})
	}
	sort.Slice(routers, func(i, j int) bool { return routers[i].name < routers[j].name })

	var env promotion.Env // built for the first router that takes the event's type
	var jobs []notify.Job
	var errs []string
	for _, rt := range routers {
		if !hasType(rt.spec.Types, e.Type) {
			continue
		}
		if env == nil {
			var err error
			if env, err = eventEnv(e); err != nil {
				return nil, err
			}
		}
		if rt.spec.When != "" {
			ok, err := evaluator.EvalBool(rt.spec.When, env)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: spec.when: %v", rt.name, err))
				continue
			}
			if !ok {
				continue
			}
		}
		for i, ch := range rt.spec.Channels {
			output, encoding := rt.spec.Output, rt.spec.EncodingType
			if ch.Output != "" {
				output, encoding = ch.Output, ch.EncodingType
			}
			m, err := render(output, encoding, env, e)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: spec.channels[%d]: %v", rt.name, i, err))
				continue
			}
			ref := notify.ChannelRef{Kind: ch.Kind, Name: ch.Name}
			if ref.Kind == "" {
				ref.Kind = haulv1.ChannelKindNamespaced
			}
			project := rt.project
			if ref.Kind == haulv1.ChannelKindNamespaced {
				ref.Namespace = project
			}
			jobs = append(jobs, notify.Job{Project: project, Channel: ref, Message: m, Event: string(e.Type), Subject: subject(e), Router: rt.name})
		}
	}
	if len(errs) > 0 {
		return jobs, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return jobs, nil
}

func hasType(types []haulv1.EventType, t haulv1.EventType) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// eventEnv is what `when` and outputs see: type, event (the event's JSON form) and data
// (the object it is about).
func eventEnv(e notify.Event) (promotion.Env, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, err
	}
	var data any = map[string]any{}
	if e.Data != nil {
		db, err := json.Marshal(e.Data)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(db, &data); err != nil {
			return nil, err
		}
	}
	return promotion.Env{"type": string(e.Type), "event": ev, "data": data}, nil
}

// render evaluates output's ${{ }} expressions and reads the result as encoding says;
// an empty output is Haul's default text for the event.
func render(output string, encoding haulv1.EncodingType, env promotion.Env, e notify.Event) (notify.Message, error) {
	ev := e
	m := notify.Message{Event: &ev}
	if output == "" {
		m.Text = DefaultText(e)
		return m, nil
	}
	v, err := evaluator.EvalTemplate(output, env)
	if err != nil {
		return m, fmt.Errorf("output: %w", err)
	}
	text, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return m, fmt.Errorf("output: %w", err)
		}
		text = string(b)
	}
	switch encoding {
	case "", "json", "yaml":
	default:
		return m, fmt.Errorf("encodingType %q: must be empty, json or yaml", encoding)
	}
	decoded, err := notify.Decode(text, string(encoding))
	if err != nil {
		return m, fmt.Errorf("output %w", err)
	}
	decoded.Event = m.Event
	return decoded, nil
}

// DefaultText is the message of an event whose router has no output.
func DefaultText(e notify.Event) string {
	freight := ""
	if e.Freight != nil {
		freight = e.Freight.Name
		if e.Freight.Alias != "" {
			freight = e.Freight.Alias
		}
	}
	var s string
	switch e.Type {
	case haulv1.EventPromotionStarted:
		s = fmt.Sprintf("Promotion %s of Freight %s to Stage %s started", e.Name, freight, e.StageName)
	case haulv1.EventPromotionSucceeded:
		s = fmt.Sprintf("Promotion %s of Freight %s to Stage %s succeeded", e.Name, freight, e.StageName)
	case haulv1.EventPromotionFailed:
		s = fmt.Sprintf("Promotion %s of Freight %s to Stage %s failed", e.Name, freight, e.StageName)
	case haulv1.EventPromotionErrored:
		s = fmt.Sprintf("Promotion %s of Freight %s to Stage %s errored", e.Name, freight, e.StageName)
	case haulv1.EventPromotionAborted:
		s = fmt.Sprintf("Promotion %s of Freight %s to Stage %s was aborted", e.Name, freight, e.StageName)
	case haulv1.EventPromotionWaitingForApproval:
		s = fmt.Sprintf("Promotion %s of Freight %s to Stage %s waits for approval", e.Name, freight, e.StageName)
	case haulv1.EventVerificationSucceeded:
		s = fmt.Sprintf("Freight %s passed verification in Stage %s", freight, e.StageName)
	case haulv1.EventVerificationFailed:
		s = fmt.Sprintf("Freight %s failed verification in Stage %s", freight, e.StageName)
	case haulv1.EventVerificationErrored:
		s = fmt.Sprintf("Verification of Freight %s in Stage %s errored", freight, e.StageName)
	case haulv1.EventAutoRollbackCreated:
		s = fmt.Sprintf("Stage %s is being rolled back to Freight %s (Promotion %s)", e.StageName, freight, e.Name)
	default:
		s = fmt.Sprintf("%s in Stage %s", e.Type, e.StageName)
	}
	s = "[" + e.Project + "] " + s
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func subject(e notify.Event) string {
	if e.Name != "" {
		return "Promotion/" + e.Project + "/" + e.Name
	}
	return "Stage/" + e.Project + "/" + e.StageName
}
