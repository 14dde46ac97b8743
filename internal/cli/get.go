package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/printers"
	"github.com/haul-dev/haul/pkg/pipeline"
)

// now is the clock of every relative time the CLI prints; tests replace it.
var now = time.Now

type getOptions struct {
	warehouse string
	alias     string
	stage     string
	archived  bool
}

// newGetCommand builds `haul get`.
func newGetCommand(g *GlobalOptions) *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:   "get TYPE [NAME]",
		Short: "List projects, warehouses, freight, stages, promotions or promotion tasks",
		Long: "List Haul objects in the project, or show one by name.\n\n" +
			"Types: projects, projectconfigs, warehouses, freight, stages, promotions,\n" +
			"promotiontasks, clusterpromotiontasks (singular, plural and short names work).",
		Example: "  haul get stages\n  haul get freight --warehouse app\n  haul get promotions --stage prod -o wide\n  haul get promotions --archived\n  haul get stage prod -o yaml",
		Args:    cobra.RangeArgs(1, 2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return completeNames(g, args[0]), cobra.ShellCompDirectiveNoFileComp
			}
			return kindNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := findKind(args[0])
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			if err := checkOutput(g.Output); err != nil {
				return err
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			return runGet(cmd.Context(), s, cmd.OutOrStdout(), cmd.ErrOrStderr(), k, name, o)
		},
	}
	cmd.Flags().StringVar(&o.warehouse, "warehouse", "", "freight: only Freight from this Warehouse")
	cmd.Flags().StringVar(&o.alias, "alias", "", "freight: only the Freight with this alias")
	cmd.Flags().StringVar(&o.stage, "stage", "", "promotions: only Promotions of this Stage")
	cmd.Flags().BoolVar(&o.archived, "archived", false, "promotions: also list the records retention kept of deleted Promotions")
	_ = cmd.RegisterFlagCompletionFunc("warehouse", nameCompletion(g, "warehouse"))
	_ = cmd.RegisterFlagCompletionFunc("stage", nameCompletion(g, "stage"))
	return cmd
}

func checkOutput(o string) error {
	switch o {
	case "table", "wide", "json", "yaml", "name", "":
		return nil
	}
	return fmt.Errorf("unknown output format %q: use table, wide, json, yaml or name", o)
}

func runGet(ctx context.Context, s *session, w, errOut io.Writer, k *kind, name string, o *getOptions) error {
	ns := ""
	if k.Namespaced {
		p, err := s.requireProject()
		if err != nil {
			return err
		}
		ns = p
	}
	var objs []client.Object
	if name != "" {
		obj, err := getOne(ctx, s, k, ns, name)
		if err != nil {
			return err
		}
		objs = []client.Object{obj}
	} else {
		list := k.newList()
		var opts []client.ListOption
		if ns != "" {
			opts = append(opts, client.InNamespace(ns))
		}
		if err := listSelected(ctx, s, k, list, opts, o); err != nil {
			return translate(err, opFor("list", k, "", ns))
		}
		items, err := listItems(list)
		if err != nil {
			return err
		}
		objs = filter(items, o)
		if o.archived {
			if k.Kind != "Promotion" {
				return fmt.Errorf("--archived applies to promotions only")
			}
			live := map[string]bool{}
			for _, obj := range objs {
				live[obj.GetName()] = true
			}
			old, err := archivedPromotions(ctx, s, ns, o.stage, live)
			if err != nil {
				return err
			}
			objs = append(objs, old...)
		}
		sortObjects(k, objs)
		if len(objs) == 0 && (s.g.Output == "table" || s.g.Output == "wide" || s.g.Output == "") {
			where := ""
			if ns != "" {
				where = fmt.Sprintf(" in project %q", ns)
			}
			_, err := fmt.Fprintf(errOut, "no %s found%s\n", k.Resource, where)
			return err
		}
	}
	var rules printers.ApprovalRules
	if k.Kind == "Freight" && s.g.Output == "wide" {
		rules = approvalRules(ctx, s, ns)
	}
	return printObjects(w, s.g, k, objs, name != "", rules)
}

// freightFields are the Freight fields the API server selects on (the CRD's
// selectableFields), by the `haul get freight` flag that names them.
func freightFields(o *getOptions) client.MatchingFields {
	f := client.MatchingFields{}
	if o.warehouse != "" {
		f["origin.name"] = o.warehouse
	}
	if o.alias != "" {
		f["alias"] = o.alias
	}
	return f
}

// listSelected lists into list. `haul get freight --warehouse/--alias` asks the API
// server to select (with 100,000 Freight it then sends only the matching ones); a
// server whose Freight CRD cannot select on the field (an older CRD, or a cluster
// before Kubernetes 1.31) is asked for everything, and filter selects.
func listSelected(ctx context.Context, s *session, k *kind, list client.ObjectList, opts []client.ListOption, o *getOptions) error {
	if k.Kind == "Freight" {
		if fields := freightFields(o); len(fields) > 0 {
			err := s.client.List(ctx, list, append(opts, fields)...)
			if err == nil || !apierrors.IsBadRequest(err) {
				return err
			}
		}
	}
	return s.client.List(ctx, list, opts...)
}

// approvalRules reads the project's Stages and ProjectConfig for the APPROVALS column.
// What cannot be read shows as no requirement: the column is a summary, not a check.
func approvalRules(ctx context.Context, s *session, ns string) printers.ApprovalRules {
	var stages haulv1.StageList
	if err := s.client.List(ctx, &stages, client.InNamespace(ns)); err != nil {
		return nil
	}
	cfgs := map[string]*haulv1.ProjectConfig{}
	byKey := map[string]*haulv1.ApprovalRequirement{}
	for i := range stages.Items {
		st := &stages.Items[i]
		cfg, seen := cfgs[st.Namespace]
		if !seen {
			cfg = &haulv1.ProjectConfig{}
			if err := s.client.Get(ctx, client.ObjectKey{Namespace: st.Namespace, Name: st.Namespace}, cfg); err != nil {
				cfg = nil
			}
			cfgs[st.Namespace] = cfg
		}
		byKey[st.Namespace+"/"+st.Name] = pipeline.ApprovalRuleFor(cfg, st)
	}
	return func(namespace, stage string) *haulv1.ApprovalRequirement { return byKey[namespace+"/"+stage] }
}

// getOne fetches by name; Freight may also be named by its alias.
func getOne(ctx context.Context, s *session, k *kind, ns, name string) (client.Object, error) {
	if k.Kind == "Freight" {
		return findFreight(ctx, s, ns, name)
	}
	obj := k.newObject()
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		return nil, translate(err, opFor("get", k, name, ns))
	}
	return obj, nil
}

// findFreight finds Freight by name or alias.
func findFreight(ctx context.Context, s *session, ns, nameOrAlias string) (*haulv1.Freight, error) {
	f := &haulv1.Freight{}
	err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: nameOrAlias}, f)
	if err == nil {
		return f, nil
	}
	list := &haulv1.FreightList{}
	if lerr := s.client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{haulv1.LabelAlias: nameOrAlias}); lerr != nil {
		return nil, translate(lerr, opFor("list", kindByKind("Freight"), "", ns))
	}
	for i := range list.Items {
		if list.Items[i].Alias == nameOrAlias {
			return &list.Items[i], nil
		}
	}
	// The alias label may lag behind the field; fall back to scanning.
	all := &haulv1.FreightList{}
	if lerr := s.client.List(ctx, all, client.InNamespace(ns)); lerr == nil {
		for i := range all.Items {
			if all.Items[i].Alias == nameOrAlias {
				return &all.Items[i], nil
			}
		}
	}
	return nil, translate(err, opFor("get", kindByKind("Freight"), nameOrAlias, ns))
}

func listItems(list client.ObjectList) ([]client.Object, error) {
	var out []client.Object
	switch l := list.(type) {
	case *haulv1.ProjectList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *haulv1.ProjectConfigList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *haulv1.ClusterConfigList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *haulv1.WarehouseList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *haulv1.FreightList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *haulv1.StageList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *haulv1.PromotionList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *haulv1.PromotionTaskList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *haulv1.ClusterPromotionTaskList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("unsupported list %T", list)
	}
	return out, nil
}

func filter(items []client.Object, o *getOptions) []client.Object {
	var out []client.Object
	for _, it := range items {
		switch t := it.(type) {
		case *haulv1.Freight:
			if o.warehouse != "" && t.Origin.Name != o.warehouse {
				continue
			}
			if o.alias != "" && t.Alias != o.alias {
				continue
			}
		case *haulv1.Promotion:
			if o.stage != "" && t.Spec.Stage != o.stage {
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

// sortObjects orders Freight newest first (what users look for) and everything else by
// name (Promotion names sort by creation).
func sortObjects(k *kind, objs []client.Object) {
	sort.SliceStable(objs, func(i, j int) bool {
		if k.Kind == "Freight" {
			ti, tj := objs[i].GetCreationTimestamp(), objs[j].GetCreationTimestamp()
			if !ti.Equal(&tj) {
				return tj.Before(&ti)
			}
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}

// printObjects prints in the format chosen by -o.
func printObjects(w io.Writer, g *GlobalOptions, k *kind, objs []client.Object, single bool, rules printers.ApprovalRules) error {
	switch g.Output {
	case "json", "yaml":
		maps := make([]map[string]any, 0, len(objs))
		for _, obj := range objs {
			setTypeMeta(obj)
			m, err := printers.Clean(obj)
			if err != nil {
				return err
			}
			maps = append(maps, m)
		}
		if g.Output == "json" {
			return printers.WriteJSON(w, maps, single)
		}
		return printers.WriteYAML(w, maps, single)
	case "name":
		for _, obj := range objs {
			if _, err := fmt.Fprintln(w, k.resourceName(obj.GetName())); err != nil {
				return err
			}
		}
		return nil
	}
	if len(objs) == 0 {
		return nil
	}
	return tableFor(k, objs, g.Output == "wide", rules).Write(w, g.NoHeaders)
}

func setTypeMeta(obj client.Object) {
	if k := kindOf(obj); k != "" {
		obj.GetObjectKind().SetGroupVersionKind(haulv1.GroupVersion.WithKind(k))
	}
}

// printScheme resolves the kinds of typed objects, whose TypeMeta the client leaves empty.
var printScheme = newScheme()

func kindOf(obj runtime.Object) string {
	gvks, _, err := printScheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return ""
	}
	return gvks[0].Kind
}

func tableFor(k *kind, objs []client.Object, wide bool, rules printers.ApprovalRules) *printers.Table {
	t := now()
	switch k.Kind {
	case "Project":
		return printers.ProjectTable(collect[haulv1.Project](objs), t, wide)
	case "ProjectConfig":
		return printers.ProjectConfigTable(collect[haulv1.ProjectConfig](objs), t, wide)
	case "ClusterConfig":
		return printers.ClusterConfigTable(collect[haulv1.ClusterConfig](objs), t, wide)
	case "Warehouse":
		return printers.WarehouseTable(collect[haulv1.Warehouse](objs), t, wide)
	case "Freight":
		return printers.FreightTable(collect[haulv1.Freight](objs), t, wide, rules)
	case "Stage":
		return printers.StageTable(collect[haulv1.Stage](objs), t, wide)
	case "Promotion":
		return printers.PromotionTable(collect[haulv1.Promotion](objs), t, wide)
	}
	var names []string
	var specs []haulv1.PromotionTaskSpec
	var created []metav1.Time
	for _, obj := range objs {
		switch o := obj.(type) {
		case *haulv1.PromotionTask:
			names, specs, created = append(names, o.Name), append(specs, o.Spec), append(created, o.CreationTimestamp)
		case *haulv1.ClusterPromotionTask:
			names, specs, created = append(names, o.Name), append(specs, o.Spec), append(created, o.CreationTimestamp)
		}
	}
	return printers.PromotionTaskTable(names, specs, created, t)
}

func collect[T any, PT interface {
	*T
	client.Object
}](objs []client.Object) []T {
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(PT); ok {
			out = append(out, *p)
		}
	}
	return out
}
