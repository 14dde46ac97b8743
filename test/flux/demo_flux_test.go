//go:build flux

package flux

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/app"
	"github.com/haul-dev/haul/internal/demo"
	"github.com/haul-dev/haul/internal/testservers"
)

var (
	haulBinOnce sync.Once
	haulBin     string
	haulBinErr  error
)

// haulBinary is $HAUL_BIN, or haul built once for the package.
func haulBinary(t *testing.T) string {
	t.Helper()
	haulBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "haul-flux-bin-")
		if err != nil {
			haulBinErr = err
			return
		}
		haulBin, haulBinErr = testservers.BuildHaul(dir, "../..")
	})
	if haulBinErr != nil {
		t.Fatal(haulBinErr)
	}
	return haulBin
}

// procChildren lists the processes whose parent is pid, by the base name of their binary.
func procChildren(pid int) map[int]string {
	entries, _ := os.ReadDir("/proc")
	out := map[int]string{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			// The name in stat is cut at 15 bytes; the command line has it whole.
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			argv0, _, _ := strings.Cut(string(cmdline), "\x00")
			out[n] = filepath.Base(argv0)
		}
	}
	return out
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// fluxDemo is one `haul up --demo --reconciler flux` and clients for its cluster.
type fluxDemo struct {
	t       *testing.T
	dataDir string
	up      *testservers.HaulUp
	c       client.Client
	dyn     dynamic.Interface
}

func startFluxDemo(t *testing.T) *fluxDemo {
	t.Helper()
	bin := haulBinary(t)
	dataDir := t.TempDir()
	addr, err := testservers.FreeAddr()
	must(t, err)
	up, err := testservers.StartHaulUp(bin, dataDir, addr, 3*time.Minute,
		"--demo", "--reconciler", "flux", "--flux-bin-dir", testservers.FluxDir(), "--min-warehouse-interval", "5s")
	must(t, err)
	d := &fluxDemo{t: t, dataDir: dataDir, up: up}
	t.Cleanup(func() {
		if d.up != nil {
			_ = d.up.Stop(60 * time.Second)
		}
		if t.Failed() {
			tail := func(p string, n int) string {
				b, _ := os.ReadFile(p)
				if len(b) > n {
					b = b[len(b)-n:]
				}
				return string(b)
			}
			t.Logf("haul up output:\n%s", up.Output())
			t.Logf("tail of haul.log:\n%s", tail(filepath.Join(dataDir, "logs", "haul.log"), 8000))
			for _, name := range []string{"source-controller", "kustomize-controller"} {
				t.Logf("tail of %s.log:\n%s", name, tail(filepath.Join(dataDir, "flux", "logs", name+".log"), 4000))
			}
		}
	})
	cfg, err := clientcmd.BuildConfigFromFlags("", up.Kubeconfig())
	must(t, err)
	d.c, err = client.New(cfg, client.Options{Scheme: app.Scheme()})
	must(t, err)
	d.dyn = dynamic.NewForConfigOrDie(cfg)
	return d
}

func (d *fluxDemo) haul(args ...string) string {
	d.t.Helper()
	cmd := exec.Command(haulBinary(d.t), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+d.up.Kubeconfig(), "XDG_CONFIG_HOME="+d.dataDir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		d.t.Fatalf("haul %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// stage reads a demo Stage and the image tag of its current Freight.
func (d *fluxDemo) stage(name string) (*haulv1.Stage, string) {
	st := &haulv1.Stage{}
	if err := d.c.Get(context.Background(), client.ObjectKey{Namespace: demo.Project, Name: name}, st); err != nil {
		return nil, ""
	}
	if len(st.Status.FreightHistory) == 0 {
		return st, ""
	}
	for _, f := range st.Status.FreightHistory[0].Items {
		if len(f.Images) > 0 {
			return st, f.Images[0].Tag
		}
	}
	return st, ""
}

// freightByTag finds the demo Freight holding the given guestbook tag.
func (d *fluxDemo) freightByTag(tag string) *haulv1.Freight {
	var list haulv1.FreightList
	if err := d.c.List(context.Background(), &list, client.InNamespace(demo.Project)); err != nil {
		return nil
	}
	for i := range list.Items {
		for _, img := range list.Items[i].Images {
			if img.Tag == tag {
				return &list.Items[i]
			}
		}
	}
	return nil
}

// waitInEveryStage waits until every demo Stage holds tag, verified there, and is Healthy.
func (d *fluxDemo) waitInEveryStage(timeout time.Duration, tag string) {
	d.t.Helper()
	eventually(d.t, timeout, tag+" verified and Healthy in every stage", func() (bool, string) {
		f := d.freightByTag(tag)
		if f == nil {
			return false, "no Freight for " + tag
		}
		var seen []string
		ok := true
		for _, name := range demo.Stages {
			st, have := d.stage(name)
			if st == nil {
				return false, "no Stage " + name
			}
			_, verified := f.Status.VerifiedIn[name]
			healthy := st.Status.Health != nil && st.Status.Health.Status == haulv1.HealthHealthy
			seen = append(seen, fmt.Sprintf("%s holds %q verified=%t health=%s", name, have, verified, healthOf(st)))
			ok = ok && have == tag && verified && healthy
		}
		return ok, strings.Join(seen, "; ")
	})
}

func (d *fluxDemo) kustomization(stage string) *unstructured.Unstructured {
	d.t.Helper()
	k, err := d.dyn.Resource(kustomizationGVR).Namespace(demo.FluxNamespace).Get(context.Background(), demo.FluxObjectName(stage), metav1.GetOptions{})
	must(d.t, err)
	return k
}

// requestFluxReconcile does what `flux reconcile kustomization --with-source` does.
func (d *fluxDemo) requestFluxReconcile(stage string) {
	d.t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	for _, gvr := range []schema.GroupVersionResource{gitRepositoryGVR, kustomizationGVR} {
		_, err := d.dyn.Resource(gvr).Namespace(demo.FluxNamespace).Patch(context.Background(), demo.FluxObjectName(stage), types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		must(d.t, err)
	}
}

// branchHead is the commit a branch of the demo GitOps repository points at.
func (d *fluxDemo) branchHead(branch string) string {
	d.t.Helper()
	st, err := demo.LoadState(d.dataDir)
	must(d.t, err)
	out, err := testservers.Git(d.t.TempDir(), "ls-remote", "http://"+st.GitAddr+"/gitops.git", "refs/heads/"+branch)
	must(d.t, err)
	sha, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	if sha == "" {
		d.t.Fatalf("branch %s not found in the demo repository", branch)
	}
	return sha
}

// pushManifests replaces manifests.yaml on a stage branch of the demo GitOps
// repository, as someone committing by hand would, and returns the new commit.
func (d *fluxDemo) pushManifests(branch, manifests string) string {
	d.t.Helper()
	st, err := demo.LoadState(d.dataDir)
	must(d.t, err)
	dir := d.t.TempDir()
	_, err = testservers.Git(dir, "clone", "--quiet", "--branch", branch, "http://"+st.GitAddr+"/gitops.git", ".")
	must(d.t, err)
	must(d.t, os.WriteFile(filepath.Join(dir, "manifests.yaml"), []byte(manifests), 0o644))
	_, err = testservers.Git(dir, "commit", "--quiet", "-am", "hand-edited manifests")
	must(d.t, err)
	_, err = testservers.Git(dir, "push", "--quiet", "origin", branch)
	must(d.t, err)
	sha, err := testservers.Git(dir, "rev-parse", "HEAD")
	must(d.t, err)
	return strings.TrimSpace(sha)
}

// TestDemoDeploysThroughRealFlux runs `haul up --demo --reconciler flux` (the built
// binary, its own control plane and its own Flux controllers), releases a version with
// `haul demo release`, and checks it reaches prod through Flux: every stage namespace
// holds the Deployment and Service at that version, applied by the stage's
// Kustomization at the stage branch's head, every Stage is Healthy from its flux-reconcile
// health check and the project counts no Stage without health checks. A broken manifest
// pushed to a stage branch then turns that Stage Unhealthy, naming its Kustomization and
// Flux's message. Stopping haul up ends the Flux controllers with it.
func TestDemoDeploysThroughRealFlux(t *testing.T) {
	ctx := context.Background()
	started := time.Now()
	d := startFluxDemo(t)
	t.Logf("haul up --demo --reconciler flux ready in %s", time.Since(started).Round(time.Millisecond))
	for _, want := range []string{"Flux: source-controller and kustomize-controller", "apply stage/<stage> into namespace guestbook-<stage>"} {
		if !strings.Contains(d.up.Output(), want) {
			t.Errorf("haul up output lacks %q:\n%s", want, d.up.Output())
		}
	}
	var fluxPIDs []int
	for pid, name := range procChildren(d.up.Cmd.Process.Pid) {
		if name == "source-controller" || name == "kustomize-controller" {
			fluxPIDs = append(fluxPIDs, pid)
		}
	}
	if len(fluxPIDs) != 2 {
		t.Fatalf("haul up runs Flux controllers %v, want source-controller and kustomize-controller as its children (children: %v)", fluxPIDs, procChildren(d.up.Cmd.Process.Pid))
	}

	d.waitInEveryStage(3*time.Minute, "1.1.0")
	t.Logf("haul up → 1.1.0 Healthy in prod through Flux: %s", time.Since(started).Round(time.Millisecond))

	released := time.Now()
	if out := d.haul("demo", "release", "--data-dir", d.dataDir); !strings.Contains(out, ":1.2.0") {
		t.Fatalf("haul demo release did not push 1.2.0: %s", out)
	}
	d.waitInEveryStage(3*time.Minute, "1.2.0")
	t.Logf("haul demo release → 1.2.0 Healthy in prod through Flux: %s", time.Since(released).Round(time.Millisecond))

	st, err := demo.LoadState(d.dataDir)
	must(t, err)
	image := st.RegistryAddr + "/" + demo.ImageRepo + ":1.2.0"
	for _, name := range demo.Stages {
		ns := demo.StageNamespace(name)
		dep := &appsv1.Deployment{}
		if err := d.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "guestbook"}, dep); err != nil {
			t.Errorf("stage %s: Deployment %s/guestbook: %v", name, ns, err)
		} else if got := dep.Spec.Template.Spec.Containers[0].Image; got != image && !strings.HasPrefix(got, image+"@sha256:") {
			t.Errorf("stage %s: Deployment %s/guestbook runs %s, want %s", name, ns, got, image)
		} else if dep.Labels["kustomize.toolkit.fluxcd.io/name"] != demo.FluxObjectName(name) {
			t.Errorf("stage %s: Deployment %s/guestbook was not applied by Kustomization %s: labels %v", name, ns, demo.FluxObjectName(name), dep.Labels)
		}
		if err := d.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "guestbook"}, &corev1.Service{}); err != nil {
			t.Errorf("stage %s: Service %s/guestbook: %v", name, ns, err)
		}
		head := d.branchHead("stage/" + name)
		if applied, _, _ := unstructured.NestedString(d.kustomization(name).Object, "status", "lastAppliedRevision"); !strings.HasSuffix(applied, ":"+head) {
			t.Errorf("stage %s: Kustomization applied %q, want the head of stage/%s, %s", name, applied, name, head)
		}
		s, _ := d.stage(name)
		p := &haulv1.Promotion{}
		must(t, d.c.Get(ctx, client.ObjectKey{Namespace: demo.Project, Name: s.Status.FreightHistory[0].Promotion}, p))
		if len(p.Status.HealthChecks) != 1 || p.Status.HealthChecks[0].Uses != "flux-reconcile" {
			t.Errorf("stage %s: promotion %s left health checks %+v, want one from flux-reconcile", name, p.Name, p.Status.HealthChecks)
		}
	}
	eventually(t, 30*time.Second, "project stats to count three healthy Stages", func() (bool, string) {
		proj := &haulv1.Project{}
		must(t, d.c.Get(ctx, client.ObjectKey{Name: demo.Project}, proj))
		s := proj.Status.Stats
		return s.Stages == 3 && s.HealthyStages == 3 && s.StagesWithoutHealthChecks == 0 && s.UnhealthyStages == 0, fmt.Sprintf("%+v", s)
	})
	if t.Failed() {
		return
	}

	// A hand-pushed manifest the API server rejects (a label value may not end in "-"):
	// Flux fails to apply it, and the Stage says which Kustomization and what Flux said.
	broken := d.pushManifests("stage/test", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels:\n    version: 1.2.0-\n")
	d.requestFluxReconcile("test")
	key := "Kustomization " + demo.FluxNamespace + "/" + demo.FluxObjectName("test")
	var fluxMessage string
	eventually(t, 90*time.Second, "Stage test to turn Unhealthy with Flux's message", func() (bool, string) {
		k := d.kustomization("test")
		attempted, _, _ := unstructured.NestedString(k.Object, "status", "lastAttemptedRevision")
		conds, _, _ := unstructured.NestedSlice(k.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Ready" && m["status"] == "False" && strings.HasSuffix(attempted, ":"+broken) {
				fluxMessage, _ = m["message"].(string)
			}
		}
		s, _ := d.stage("test")
		h := s.Status.Health
		issues := ""
		if h != nil {
			issues = strings.Join(h.Issues, "; ")
		}
		return fluxMessage != "" && h != nil && h.Status == haulv1.HealthUnhealthy &&
			strings.Contains(issues, key+" is not Ready") && strings.Contains(issues, fluxMessage), fmt.Sprintf("Flux: %q; Stage: %s", fluxMessage, healthOf(s))
	})
	s, _ := d.stage("test")
	t.Logf("Stage test after a broken manifest: %s", healthOf(s))
	if !strings.Contains(fluxMessage, "ConfigMap/"+demo.StageNamespace("test")+"/settings") {
		t.Errorf("Flux's message %q does not name the rejected ConfigMap", fluxMessage)
	}
	for _, name := range []string{"uat", "prod"} {
		if s, _ := d.stage(name); s.Status.Health == nil || s.Status.Health.Status != haulv1.HealthHealthy {
			t.Errorf("stage %s: %s, want Healthy (only stage/test is broken)", name, healthOf(s))
		}
	}

	// haul up stops its Flux controllers on SIGTERM, without having to kill them.
	must(t, d.up.Stop(60*time.Second))
	output := d.up.Output()
	d.up = nil
	if strings.Contains(output, "stopping Flux") {
		t.Errorf("haul up had trouble stopping Flux:\n%s", output)
	}
	for _, pid := range fluxPIDs {
		if processAlive(pid) {
			t.Errorf("Flux controller %d still runs after haul up stopped", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
