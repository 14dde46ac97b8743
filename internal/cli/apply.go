package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/manifest"
	// The built-in steps register themselves, so apply can reject a step Haul cannot run.
	"github.com/haul-dev/haul/promotion/steps"
)

type applyOptions struct {
	files          []string
	recursive      bool
	forceConflicts bool
	dryRun         bool
	namespaceWait  time.Duration
}

// newApplyCommand builds `haul apply`.
func newApplyCommand(g *GlobalOptions) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update objects from YAML manifests (Haul or Kargo), all or nothing",
		Long: "Apply multi-document YAML with server-side apply (field manager \"haul\").\n\n" +
			"The whole set is validated first — unknown fields, enums, semver constraints,\n" +
			"regular expressions, expressions, stage cycles, and a server-side dry run of every\n" +
			"object — and nothing is written if any document is bad. Projects are created first\n" +
			"and their namespaces awaited. Kargo manifests (kargo.akuity.io/v1alpha1) are converted.",
		Example: "  haul apply -f pipeline.yaml\n  haul apply -f ./manifests -R\n  cat kargo.yaml | haul apply -f -",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(o.files) == 0 {
				return errors.New("nothing to apply: pass -f FILE, -f DIR or -f -")
			}
			docs, err := manifest.Load(o.files, o.recursive, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if len(docs) == 0 {
				return errors.New("no objects found in the given manifests")
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			return runApply(cmd.Context(), s, cmd.OutOrStdout(), cmd.ErrOrStderr(), docs, o)
		},
	}
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "file, directory or - (stdin) to apply; repeatable")
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "R", false, "read directories recursively")
	cmd.Flags().BoolVar(&o.forceConflicts, "force-conflicts", false, "take over fields owned by other field managers")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "validate and print what would happen, without writing")
	cmd.Flags().DurationVar(&o.namespaceWait, "namespace-timeout", time.Minute, "how long to wait for a new Project's namespace")
	return cmd
}

// applyOrder ranks kinds so that what others depend on is written first.
func applyOrder(u *unstructured.Unstructured) int {
	gvk := u.GroupVersionKind()
	if gvk.Group == "" && gvk.Kind == "Namespace" {
		return 0
	}
	if gvk.Group != haulv1.GroupVersion.Group {
		if gvk.Group == "" {
			return 3 // Secrets, ConfigMaps, ServiceAccounts
		}
		return 9
	}
	switch gvk.Kind {
	case "Project":
		return 1
	case "ProjectConfig", "ClusterPromotionTask":
		return 2
	case "PromotionTask":
		return 4
	case "Warehouse":
		return 5
	case "Stage":
		return 6
	case "Freight":
		return 7
	case "Promotion":
		return 8
	}
	return 9
}

// applier applies one set.
type applier struct {
	s      *session
	out    io.Writer
	errOut io.Writer
	o      *applyOptions
	// nsExists caches namespace lookups; "will" marks namespaces the set creates.
	nsExists map[string]bool
	nsWill   map[string]bool
}

func runApply(ctx context.Context, s *session, out, errOut io.Writer, docs []manifest.Document, o *applyOptions) error {
	a := &applier{s: s, out: out, errOut: errOut, o: o, nsExists: map[string]bool{}, nsWill: map[string]bool{}}
	if err := a.scope(docs); err != nil {
		return err
	}
	sort.SliceStable(docs, func(i, j int) bool { return applyOrder(docs[i].Object) < applyOrder(docs[j].Object) })
	if err := a.waitForExistingProjects(ctx, docs); err != nil {
		return fmt.Errorf("nothing was applied: %w", err)
	}

	cluster, err := a.clusterState(ctx, docs)
	if err != nil {
		return fmt.Errorf("nothing was applied: %w", err)
	}
	warnings, err := manifest.Validate(docs, cluster)
	for _, w := range warnings {
		_, _ = fmt.Fprintln(errOut, "warning:", w)
	}
	if err != nil {
		return fmt.Errorf("nothing was applied: %w", err)
	}
	if err := a.checkPromotions(ctx, docs); err != nil {
		return fmt.Errorf("nothing was applied: %w", err)
	}
	results, err := a.dryRunAll(ctx, docs)
	if err != nil {
		return fmt.Errorf("nothing was applied: %w", err)
	}
	if o.dryRun {
		for i := range docs {
			r := results[i]
			if r == "" {
				r = "created" // its namespace does not exist yet, so neither does it
			}
			_, _ = fmt.Fprintf(out, "%s %s (dry run)\n", describeDoc(&docs[i]), r)
		}
		return nil
	}
	for i := range docs {
		d := &docs[i]
		if applyOrder(d.Object) >= 2 && i > 0 && applyOrder(docs[i-1].Object) < 2 {
			if err := a.waitForProjectNamespaces(ctx, docs[:i]); err != nil {
				return err
			}
			// What could not be dry-run before the namespaces existed is checked now.
			if _, err := a.dryRunAll(ctx, docs[i:]); err != nil {
				return fmt.Errorf("only the objects listed above were applied: %w", err)
			}
		}
		result, err := a.apply(ctx, d, false)
		if err != nil {
			return fmt.Errorf("%w (objects listed above were applied; the rest were not)", err)
		}
		line := describeDoc(d) + " " + result
		if d.ConvertedFrom != "" {
			line += " (converted from " + d.ConvertedFrom + ")"
		} else if len(d.Notes) > 0 {
			line += " (" + strings.Join(d.Notes, ", ") + ")"
		}
		_, _ = fmt.Fprintln(out, line)
	}
	return nil
}

func describeDoc(d *manifest.Document) string { return d.ResourceName() }

// scope fills in the namespace of namespaced objects (from -p or the config default)
// and clears it on cluster-scoped ones.
func (a *applier) scope(docs []manifest.Document) error {
	mapper := a.s.client.RESTMapper()
	for i := range docs {
		u := docs[i].Object
		gvk := u.GroupVersionKind()
		var namespaced bool
		if k := kindByKind(gvk.Kind); k != nil && gvk.Group == haulv1.GroupVersion.Group {
			namespaced = k.Namespaced
		} else {
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				if meta.IsNoMatchError(err) {
					return fmt.Errorf("%s: the cluster does not know kind %s in %s", docs[i].Source, gvk.Kind, gvk.GroupVersion())
				}
				return translate(err, op{host: a.s.host})
			}
			namespaced = m.Scope.Name() == meta.RESTScopeNameNamespace
		}
		if !namespaced {
			u.SetNamespace("")
			switch {
			case gvk.Group == "" && gvk.Kind == "Namespace":
				a.nsWill[u.GetName()] = true
			case gvk.Group == haulv1.GroupVersion.Group && gvk.Kind == "Project":
				a.nsWill[u.GetName()] = true
			}
			continue
		}
		if u.GetNamespace() == "" {
			p, err := a.s.requireProject()
			if err != nil {
				return fmt.Errorf("%s has no metadata.namespace: %w", docs[i].Describe(), err)
			}
			u.SetNamespace(p)
		}
	}
	return nil
}

// clusterState lists the Stages and Warehouses already in the namespaces the set
// applies Stages to (manifest.ReadCluster), for the cross-object checks.
func (a *applier) clusterState(ctx context.Context, docs []manifest.Document) (manifest.Cluster, error) {
	exists := func(ns string) bool { return a.namespaceExists(ctx, ns) }
	reg := steps.Builtin()
	c, err := manifest.ReadCluster(ctx, a.s.client, docs, manifest.ReadOptions{Steps: reg.Names(), StepOutputs: reg.OutputKeys, Exists: exists})
	var le *manifest.ListError
	if errors.As(err, &le) {
		return c, translate(le.Err, opFor("list", kindByKind(le.Kind), "", le.Namespace))
	}
	return c, err
}

func (a *applier) namespaceExists(ctx context.Context, ns string) bool {
	if ok, known := a.nsExists[ns]; known {
		return ok
	}
	err := a.s.client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
	// Forbidden: a project member may not read namespaces; assume it is there and let
	// the dry run tell.
	ok := err == nil || apierrors.IsForbidden(err)
	a.nsExists[ns] = ok
	return ok
}

// checkPromotions holds Promotions in a manifest to the same rule as `haul promote`: the
// caller needs the verb promote on the Stage, not only create on promotions.
func (a *applier) checkPromotions(ctx context.Context, docs []manifest.Document) error {
	var problems []manifest.Problem
	for i := range docs {
		u := docs[i].Object
		if u.GroupVersionKind().Group != haulv1.GroupVersion.Group || u.GetKind() != "Promotion" {
			continue
		}
		stage, _, _ := unstructured.NestedString(u.Object, "spec", "stage")
		if stage == "" {
			continue // the schema check reports it
		}
		if err := canPromote(ctx, a.s, u.GetNamespace(), stage); err != nil {
			problems = append(problems, manifest.Problem{Document: docs[i].Describe(), Message: err.Error()})
		}
	}
	if len(problems) > 0 {
		return &manifest.ValidationError{Problems: problems}
	}
	return nil
}

// dryRunAll runs a server-side dry run of every object whose namespace exists already,
// which catches CRD schema and CEL errors. Objects in namespaces the set itself creates
// cannot be dry-run before the namespace exists; client-side validation covered them.
func (a *applier) dryRunAll(ctx context.Context, docs []manifest.Document) (map[int]string, error) {
	var problems []manifest.Problem
	results := map[int]string{}
	for i := range docs {
		d := &docs[i]
		ns := d.Object.GetNamespace()
		if ns != "" && !a.namespaceExists(ctx, ns) {
			if a.nsWill[ns] {
				continue
			}
			problems = append(problems, manifest.Problem{Document: d.Describe(),
				Message: fmt.Sprintf("project %q does not exist: add its Project to the set or create it first", ns)})
			continue
		}
		r, err := a.apply(ctx, d, true)
		if err != nil {
			problems = append(problems, manifest.Problem{Document: d.Describe(), Message: err.Error()})
		}
		results[i] = r
	}
	if len(problems) > 0 {
		return nil, &manifest.ValidationError{Problems: problems}
	}
	return results, nil
}

// apply server-side applies one object and says whether it was created, configured or
// left unchanged. "unchanged" means nothing but bookkeeping (managed fields) differs.
func (a *applier) apply(ctx context.Context, d *manifest.Document, dryRun bool) (string, error) {
	u := d.Object
	gvk := u.GroupVersionKind()
	o := a.opFor(d, "apply")
	before := &unstructured.Unstructured{}
	before.SetGroupVersionKind(gvk)
	existed := true
	if err := a.s.client.Get(ctx, client.ObjectKeyFromObject(u), before); err != nil {
		if !apierrors.IsNotFound(err) {
			return "", translate(err, a.opFor(d, "get"))
		}
		existed = false
	}
	after := u.DeepCopy()
	opts := []client.ApplyOption{client.FieldOwner(fieldManager)}
	if a.o.forceConflicts {
		opts = append(opts, client.ForceOwnership)
	}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	if err := a.s.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(after), opts...); err != nil {
		if apierrors.IsConflict(err) {
			return "", fmt.Errorf("%s: fields are owned by another manager (%s); re-run with --force-conflicts to take them over", d.ResourceName(), conflictDetail(err))
		}
		return "", translate(err, o)
	}
	if !existed {
		return "created", nil
	}
	if sameContent(before, after) {
		return "unchanged", nil
	}
	return "configured", nil
}

func conflictDetail(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Details != nil {
		var fields []string
		for _, c := range st.Status().Details.Causes {
			fields = append(fields, c.Field)
		}
		if len(fields) > 0 {
			return strings.Join(fields, ", ")
		}
	}
	return err.Error()
}

// sameContent compares two versions of an object, ignoring bookkeeping.
func sameContent(a, b *unstructured.Unstructured) bool {
	strip := func(u *unstructured.Unstructured) map[string]any {
		c := u.DeepCopy().Object
		for _, f := range []string{"managedFields", "resourceVersion", "generation"} {
			unstructured.RemoveNestedField(c, "metadata", f)
		}
		return c
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

func (a *applier) opFor(d *manifest.Document, verb string) op {
	gvk := d.Object.GroupVersionKind()
	o := op{verb: verb, kind: strings.ToLower(gvk.Kind), name: d.Object.GetName(), namespace: d.Object.GetNamespace(), host: a.s.host}
	if k := kindByKind(gvk.Kind); k != nil && gvk.Group == haulv1.GroupVersion.Group {
		o.resource = k.Resource
	} else if m, err := a.s.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
		o.resource = m.Resource.Resource
	} else {
		o.resource = o.kind + "s"
	}
	if verb == "apply" {
		o.verb = "patch"
	}
	return o
}

// waitForExistingProjects waits, before anything is checked, for the namespaces of
// Projects that exist already but whose controller has not yet created their namespace:
// `haul apply -f project.yaml` followed at once by `haul apply -f stages.yaml`. A
// namespace whose Project does not exist is left to the usual "does not exist" error.
func (a *applier) waitForExistingProjects(ctx context.Context, docs []manifest.Document) error {
	var will []manifest.Document
	asked := map[string]bool{}
	for i := range docs {
		ns := docs[i].Object.GetNamespace()
		if ns == "" || asked[ns] || a.nsWill[ns] {
			continue
		}
		asked[ns] = true
		if a.namespaceExists(ctx, ns) {
			continue
		}
		p := &haulv1.Project{}
		if err := a.s.client.Get(ctx, client.ObjectKey{Name: ns}, p); err != nil {
			continue // not found or not readable: the dry run reports the namespace
		}
		if !p.DeletionTimestamp.IsZero() {
			continue
		}
		_, _ = fmt.Fprintf(a.errOut, "waiting up to %s for the namespace of project %q\n", a.o.namespaceWait, ns)
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(haulv1.GroupVersion.WithKind("Project"))
		u.SetName(ns)
		will = append(will, manifest.Document{Object: u})
		delete(a.nsExists, ns)
	}
	if len(will) == 0 {
		return nil
	}
	return a.waitForProjectNamespaces(ctx, will)
}

// waitForProjectNamespaces waits until the namespace of every Project in done exists:
// the Project controller creates it, and nothing else of the set can be written before.
func (a *applier) waitForProjectNamespaces(ctx context.Context, done []manifest.Document) error {
	for i := range done {
		u := done[i].Object
		if u.GroupVersionKind().Group == "" && u.GetKind() == "Namespace" {
			a.nsExists[u.GetName()] = true
			continue
		}
		if u.GroupVersionKind().Group != haulv1.GroupVersion.Group || u.GetKind() != "Project" {
			continue
		}
		ns := u.GetName()
		err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, a.o.namespaceWait, true, func(context.Context) (bool, error) {
			// The outer context: the poll's own deadline must not fail a request midway.
			n := &corev1.Namespace{}
			if err := a.s.client.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
				if apierrors.IsNotFound(err) {
					return false, nil
				}
				if apierrors.IsForbidden(err) {
					return true, nil
				}
				return false, translate(err, op{verb: "get", kind: "namespace", resource: "namespaces", name: ns, host: a.s.host})
			}
			return n.Status.Phase != corev1.NamespaceTerminating, nil
		})
		if err != nil {
			if wait.Interrupted(err) {
				return fmt.Errorf("project %q: its namespace did not appear within %s; is the Haul controller running? (objects after the Projects were not applied)", ns, a.o.namespaceWait)
			}
			return err
		}
		a.nsExists[ns] = true
	}
	return nil
}
