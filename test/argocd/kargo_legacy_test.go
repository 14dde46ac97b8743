//go:build argocd

package argocd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

const legacyProject = "legacy"

// legacyManifests is a three-stage pipeline written the way older Kargo releases wrote
// it: image semverConstraint, Project promotionPolicies, Stage subscriptions and
// promotionMechanisms (gitRepoUpdates with a writeBranch per stage, argoCDAppUpdates).
func legacyManifests(image, repo string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: %[1]s
spec:
  promotionPolicies:
    - stage: test
      autoPromotionEnabled: true
    - stage: uat
      autoPromotionEnabled: true
    - stage: prod
      autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: guestbook
  namespace: %[1]s
spec:
  subscriptions:
    - image:
        repoURL: %[2]s
        semverConstraint: ^1.0.0
        discoveryLimit: 5
`, legacyProject, image)
	for i, st := range stages {
		subs := "    warehouse: guestbook\n"
		if i > 0 {
			subs = "    upstreamStages:\n      - name: " + stages[i-1] + "\n"
		}
		fmt.Fprintf(&b, `---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  subscriptions:
%[3]s  promotionMechanisms:
    gitRepoUpdates:
      - repoURL: %[4]s
        writeBranch: env/%[1]s
        kustomize:
          images:
            - image: %[5]s
              path: stages/%[1]s
    argoCDAppUpdates:
      - appName: legacy-%[1]s
        appNamespace: argocd
`, st, legacyProject, subs, repo, image)
	}
	return b.String()
}

// TestKargoLegacyPipelineWithHaulBinary applies an older-style Kargo pipeline with
// `haul apply` and lets `haul up --kubeconfig` (every controller, as a user runs them)
// promote a new image to prod through real Argo CD Applications.
func TestKargoLegacyPipelineWithHaulBinary(t *testing.T) {
	ctx := context.Background()
	bin, err := testservers.BuildHaul(t.TempDir(), "../..")
	must(t, err)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeTestKubeconfig(t, kubeconfig)

	reg, err := testservers.StartRegistry()
	must(t, err)
	defer reg.Close()
	for _, tag := range []string{"1.0.0", "1.1.0", "2.0.0"} { // 2.0.0 is outside ^1.0.0
		_, err := reg.PushImage("legacy/guestbook", tag, testservers.ImageOptions{})
		must(t, err)
	}
	image := reg.Repo("legacy/guestbook")
	gitSrv, err := testservers.StartGitServer(t.TempDir())
	must(t, err)
	defer gitSrv.Close()
	files := map[string]string{
		"base/kustomization.yaml": "resources:\n  - configmap.yaml\n",
		"base/configmap.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook\ndata:\n  app: guestbook\n",
	}
	for _, st := range stages {
		files["stages/"+st+"/kustomization.yaml"] = "resources:\n  - ../../base\nimages:\n  - name: " + image + "\n    newTag: 0.0.0\n"
	}
	_, err = gitSrv.SeedRepo("legacy", files)
	must(t, err)
	repo := gitSrv.RepoURL("legacy")

	// Argo CD Applications, annotated the way Kargo users already have them.
	for _, st := range stages {
		must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy-" + st}}))
		a := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": "legacy-" + st, "namespace": "argocd",
				"annotations": map[string]any{haulv1.AnnotationKargoAuthorizedStage: legacyProject + ":" + st}},
			"spec": map[string]any{
				"project":     "default",
				"source":      map[string]any{"repoURL": repo, "targetRevision": "env/" + st, "path": "stages/" + st},
				"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "legacy-" + st},
			},
		}}
		must(t, k8s.Create(ctx, a))
	}

	addr, err := testservers.FreeAddr()
	must(t, err)
	up, err := testservers.StartHaulUp(bin, t.TempDir(), addr, 2*time.Minute, "--kubeconfig", kubeconfig)
	must(t, err)
	defer func() {
		if t.Failed() {
			t.Logf("haul up output:\n%s", up.Output())
		}
		_ = up.Stop(time.Minute)
	}()

	manifest := filepath.Join(t.TempDir(), "kargo.yaml")
	must(t, os.WriteFile(manifest, []byte(legacyManifests(image, repo)), 0o644))
	out, err := exec.Command(bin, "apply", "-f", manifest, "--kubeconfig", kubeconfig).CombinedOutput()
	if err != nil {
		t.Fatalf("haul apply: %v\n%s", err, out)
	}
	for _, want := range []string{"stage.haul.dev/prod", "converted"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("haul apply output lacks %q:\n%s", want, out)
		}
	}

	// 1.1.0 (the newest within ^1.0.0) reaches prod by auto-promotion.
	eventually(t, 5*time.Minute, "1.1.0 in prod", func() (bool, string) {
		s := &haulv1.Stage{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: legacyProject, Name: "prod"}, s); err != nil {
			return false, err.Error()
		}
		if len(s.Status.FreightHistory) == 0 {
			return false, fmt.Sprintf("prod has no Freight yet; %s", legacyPromotions(t))
		}
		for _, f := range s.Status.FreightHistory[0].Items {
			if len(f.Images) > 0 && f.Images[0].Tag == "1.1.0" {
				return true, ""
			}
		}
		return false, legacyPromotions(t)
	})
	for _, st := range stages {
		k, err := gitSrv.Show("legacy", "env/"+st, "stages/"+st+"/kustomization.yaml")
		must(t, err)
		if !strings.Contains(k, "newTag: 1.1.0") {
			t.Errorf("env/%s kustomization does not set 1.1.0:\n%s", st, k)
		}
		head, err := gitSrv.RevParse("legacy", "env/"+st)
		must(t, err)
		eventually(t, 2*time.Minute, "legacy-"+st+" synced at env/"+st+" and healthy", func() (bool, string) {
			a := &unstructured.Unstructured{}
			a.SetAPIVersion("argoproj.io/v1alpha1")
			a.SetKind("Application")
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "legacy-" + st}, a); err != nil {
				return false, err.Error()
			}
			sync, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
			rev, _, _ := unstructured.NestedString(a.Object, "status", "sync", "revision")
			health, _, _ := unstructured.NestedString(a.Object, "status", "health", "status")
			return sync == "Synced" && rev == head && health == "Healthy", fmt.Sprintf("sync=%s rev=%s (want %s) health=%s", sync, rev, head, health)
		})
	}
}

func legacyPromotions(t *testing.T) string {
	var list haulv1.PromotionList
	if err := k8s.List(context.Background(), &list, client.InNamespace(legacyProject)); err != nil {
		return err.Error()
	}
	var parts []string
	for _, p := range list.Items {
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", p.Spec.Stage, p.Status.Phase, p.Status.Message))
	}
	return "promotions: " + strings.Join(parts, ", ")
}

// writeTestKubeconfig writes a kubeconfig for the test API server, for the haul binary.
func writeTestKubeconfig(t *testing.T, path string) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	must(t, clientcmd.WriteToFile(*kc, path))
}
