package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/project"
	"github.com/haul-dev/haul/internal/server/auth"
)

// kinded serialises an object with apiVersion and kind without copying it, so that
// objects shared with the informer cache are never mutated.
type kinded struct {
	kind string
	obj  any
}

// MarshalJSON implements json.Marshaler.
func (k kinded) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(k.obj)
	if err != nil || !bytes.HasPrefix(b, []byte("{")) || bytes.HasPrefix(b, []byte(`{"kind":`)) {
		return b, err
	}
	head := `{"apiVersion":"` + haulv1.GroupVersion.String() + `","kind":"` + k.kind + `"`
	if len(b) > 2 {
		head += ","
	}
	return append([]byte(head), b[1:]...), nil
}

// rawJSON is a response body encoded already.
type rawJSON []byte

// wrap encodes a list of objects shared with the cache as {"items": [...]}, each with
// apiVersion and kind. It encodes each object once, which matters for thousands.
func wrap[T any](kind string, items []T) (rawJSON, error) {
	var buf bytes.Buffer
	buf.Grow(len(items) * 512)
	buf.WriteString(`{"items":[`)
	for i := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := kinded{kind: kind, obj: &items[i]}.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", kind, err)
		}
		buf.Write(b)
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

// maxListLimit caps ?limit= on the Freight and Promotion lists.
const maxListLimit = 100_000

// listLimit reads ?limit= (0 when absent): a positive integer of at most maxListLimit.
func listLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxListLimit {
		return 0, badRequest("query parameter limit=%q: want a whole number from 1 to %d", v, maxListLimit)
	}
	return n, nil
}

// limited keeps the first limit of sorted (newest first), and after them every later
// item keep says must stay; total is how many there were. limit 0 keeps all.
func limited[T any](sorted []T, limit int, keep func(*T) bool) (items []T, total int) {
	if limit == 0 || len(sorted) <= limit {
		return sorted, len(sorted)
	}
	items = sorted[:limit:limit]
	for i := limit; i < len(sorted); i++ {
		if keep != nil && keep(&sorted[i]) {
			items = append(items, sorted[i])
		}
	}
	return items, len(sorted)
}

// wrapTotal is wrap with the list's "total" when a limit left items out.
func wrapTotal[T any](kind string, items []T, total int) (rawJSON, error) {
	b, err := wrap(kind, items)
	if err != nil || total == len(items) {
		return b, err
	}
	b = bytes.TrimSuffix(b, []byte("}\n"))
	return append(b, []byte(`,"total":`+strconv.Itoa(total)+"}\n")...), nil
}

func listResponse(b rawJSON, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, b, nil
}

// syncTimeout bounds how long a request waits for the informers' first list.
const syncTimeout = 30 * time.Second

// synced waits for the informers behind lists; they start with the server.
func (s *Server) synced(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !s.cache.WaitForCacheSync(ctx) {
		return errorf(http.StatusServiceUnavailable, reasonUnavailable, "the server is still loading objects; retry shortly")
	}
	return nil
}

// project returns Project p when u may see it; otherwise the uniform 404.
func (s *Server) project(ctx context.Context, u *auth.User, p string) (*haulv1.Project, error) {
	ok, err := s.access.visible(ctx, u, p)
	if err != nil {
		return nil, fromKube(err)
	}
	if !ok {
		return nil, notFound("Project", p, p)
	}
	if err := s.synced(ctx); err != nil {
		return nil, err
	}
	proj := &haulv1.Project{}
	if err := s.cache.Get(ctx, client.ObjectKey{Name: p}, proj); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, notFound("Project", p, p)
		}
		return nil, fromKube(err)
	}
	return proj, nil
}

// listIn checks that u may list resource in project p and fills l from the cache.
func (s *Server) listIn(ctx context.Context, u *auth.User, p, resource string, l client.ObjectList) error {
	if _, err := s.project(ctx, u, p); err != nil {
		return err
	}
	if err := s.access.check(ctx, u, "list", resource, "", p, "", "Project", p, "list "+resource); err != nil {
		return err
	}
	return s.cache.List(ctx, l, client.InNamespace(p), client.UnsafeDisableDeepCopy)
}

// getAs reads one object as u, straight from the API server so that a read after a
// write sees the write.
func (s *Server) getAs(ctx context.Context, u *auth.User, p, kind, name string, obj client.Object) (int, any, error) {
	c, err := s.access.clientFor(u)
	if err != nil {
		return 0, nil, err
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: p, Name: name}, obj); err != nil {
		return 0, nil, s.access.kubeErr(ctx, u, err, p, kind, name, "read "+kind)
	}
	return http.StatusOK, s.withKind(obj), nil
}

func (s *Server) listProjects(r *http.Request, u *auth.User) (int, any, error) {
	ctx := r.Context()
	if err := s.synced(ctx); err != nil {
		return 0, nil, err
	}
	var all haulv1.ProjectList
	if err := s.cache.List(ctx, &all, client.UnsafeDisableDeepCopy); err != nil {
		return 0, nil, fromKube(err)
	}
	mine := make([]haulv1.Project, 0, len(all.Items))
	for _, p := range all.Items {
		ok, err := s.access.visible(ctx, u, p.Name)
		if err != nil {
			return 0, nil, fromKube(err)
		}
		if ok {
			mine = append(mine, p)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Name < mine[j].Name })
	return listResponse(wrap("Project", mine))
}

func (s *Server) getProject(r *http.Request, u *auth.User) (int, any, error) {
	p, err := s.project(r.Context(), u, r.PathValue("p"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, kinded{kind: "Project", obj: p}, nil
}

func (s *Server) getProjectConfig(r *http.Request, u *auth.User) (int, any, error) {
	p := r.PathValue("p")
	return s.getAs(r.Context(), u, p, "ProjectConfig", p, &haulv1.ProjectConfig{})
}

func (s *Server) listWarehouses(r *http.Request, u *auth.User) (int, any, error) {
	var l haulv1.WarehouseList
	if err := s.listIn(r.Context(), u, r.PathValue("p"), "warehouses", &l); err != nil {
		return 0, nil, err
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return listResponse(wrap("Warehouse", l.Items))
}

func (s *Server) getWarehouse(r *http.Request, u *auth.User) (int, any, error) {
	return s.getAs(r.Context(), u, r.PathValue("p"), "Warehouse", r.PathValue("name"), &haulv1.Warehouse{})
}

func (s *Server) listStages(r *http.Request, u *auth.User) (int, any, error) {
	var l haulv1.StageList
	if err := s.listIn(r.Context(), u, r.PathValue("p"), "stages", &l); err != nil {
		return 0, nil, err
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return listResponse(wrap("Stage", l.Items))
}

func (s *Server) getStage(r *http.Request, u *auth.User) (int, any, error) {
	return s.getAs(r.Context(), u, r.PathValue("p"), "Stage", r.PathValue("name"), &haulv1.Stage{})
}

// listFreight lists newest first (the timeline order), optionally from one Warehouse.
// listFreight lists newest first, optionally from one Warehouse (?origin=). With
// ?limit=N it returns the newest N and every older Freight a Stage holds, and the
// list's "total" says how many there are.
func (s *Server) listFreight(r *http.Request, u *auth.User) (int, any, error) {
	limit, err := listLimit(r)
	if err != nil {
		return 0, nil, err
	}
	var l haulv1.FreightList
	if err := s.listIn(r.Context(), u, r.PathValue("p"), "freights", &l); err != nil {
		return 0, nil, err
	}
	items := l.Items
	if o := r.URL.Query().Get("origin"); o != "" {
		items = items[:0:0]
		for _, f := range l.Items {
			if f.Origin.Name == o {
				items = append(items, f)
			}
		}
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].CreationTimestamp, items[j].CreationTimestamp
		if !a.Equal(&b) {
			return b.Before(&a)
		}
		return items[i].Name < items[j].Name
	})
	// A Freight some Stage holds stays in a limited list: the pipeline view shows it.
	items, total := limited(items, limit, func(f *haulv1.Freight) bool { return len(f.Status.CurrentlyIn) > 0 })
	return listResponse(wrapTotal("Freight", items, total))
}

func (s *Server) getFreight(r *http.Request, u *auth.User) (int, any, error) {
	return s.getAs(r.Context(), u, r.PathValue("p"), "Freight", r.PathValue("name"), &haulv1.Freight{})
}

// listPromotions lists newest first, optionally for one Stage (?stage=). With
// ?limit=N it returns the newest N and every older one still running, and "total".
func (s *Server) listPromotions(r *http.Request, u *auth.User) (int, any, error) {
	limit, err := listLimit(r)
	if err != nil {
		return 0, nil, err
	}
	var l haulv1.PromotionList
	if err := s.listIn(r.Context(), u, r.PathValue("p"), "promotions", &l); err != nil {
		return 0, nil, err
	}
	items := l.Items
	if st := r.URL.Query().Get("stage"); st != "" {
		items = items[:0:0]
		for _, p := range l.Items {
			if p.Spec.Stage == st {
				items = append(items, p)
			}
		}
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].CreationTimestamp, items[j].CreationTimestamp
		if !a.Equal(&b) {
			return b.Before(&a)
		}
		return items[i].Name > items[j].Name
	})
	// A Promotion that has not finished stays in a limited list.
	items, total := limited(items, limit, func(p *haulv1.Promotion) bool { return !p.Status.Phase.IsTerminal() })
	return listResponse(wrapTotal("Promotion", items, total))
}

func (s *Server) getPromotion(r *http.Request, u *auth.User) (int, any, error) {
	return s.getAs(r.Context(), u, r.PathValue("p"), "Promotion", r.PathValue("name"), &haulv1.Promotion{})
}

// permissions tells the dashboard which actions to offer; the API checks again on use.
func (s *Server) permissions(r *http.Request, u *auth.User) (int, any, error) {
	ctx := r.Context()
	p := r.PathValue("p")
	if _, err := s.project(ctx, u, p); err != nil {
		return 0, nil, err
	}
	q := func(verb, res, sub, name string) bool {
		ok, err := s.access.can(ctx, u, verb, res, sub, p, name)
		return err == nil && ok
	}
	promote := q("promote", "stages", "", "") && q("create", "promotions", "", "")
	return http.StatusOK, map[string]bool{
		"promote": promote,
		"approve": q(project.VerbApprove, "freights", "", ""),
		"pause":   q(project.VerbPause, "stages", "", ""),
		// override lets a promotion through closed promotion windows, given a reason.
		"override": q(project.VerbOverride, "stages", "", ""),
		"refresh":  q(project.VerbRefresh, "stages", "", "") && q(project.VerbRefresh, "warehouses", "", ""),
		"abort":    q(project.VerbAbort, "promotions", "", ""),
		"admin":    q("update", "projectconfigs", "", p) && q("delete", "stages", "", ""),
	}, nil
}
