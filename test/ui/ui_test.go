//go:build e2e

package ui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/warehouse"
)

const (
	project     = "uitest"
	chromium    = "/usr/bin/chromium"
	hostileLink = "javascript:alert(document.cookie)"
)

// harness is a running `haul up` with clients for seeding it.
type harness struct {
	root, tmp, base, token string
	client                 client.Client
	clientset              kubernetes.Interface
}

// startHaulUp builds the dashboard and the haul binary, runs `haul up` on a free
// port and connects to its control plane with the kubeconfig it wrote.
func startHaulUp(tb testing.TB) *harness {
	tb.Helper()
	logf.SetLogger(logr.Discard())
	if _, err := os.Stat(chromium); err != nil {
		tb.Fatalf("%s is needed for the browser test (apt-get install -y chromium): %v", chromium, err)
	}
	h := &harness{root: repoRoot(tb), tmp: tb.TempDir()}
	// `make test-e2e` passes the binary it built (with the dashboard) as HAUL_BIN.
	bin := os.Getenv("HAUL_BIN")
	if bin == "" {
		buildUI(tb, h.root)
		bin = filepath.Join(h.tmp, "haul")
		run(tb, h.root, 10*time.Minute, nil, "go", "build", "-o", bin, "./cmd/haul")
	}
	if _, err := os.Stat(filepath.Join(h.root, "ui", "node_modules", "playwright-core")); err != nil {
		run(tb, filepath.Join(h.root, "ui"), 5*time.Minute, nil, "npm", "ci", "--no-audit", "--no-fund")
	}

	dataDir := filepath.Join(h.tmp, "data")
	addr := freeAddr(tb)
	h.base = "http://" + addr
	tb.Cleanup(startHaul(tb, bin, dataDir, addr))
	h.token = readFile(tb, filepath.Join(dataDir, "admin-token"))
	waitForAPI(tb, h.base, h.token)
	if page := get(tb, h.base+"/"); strings.Contains(page, "The dashboard is not built") {
		tb.Fatalf("%s was built without the dashboard: run `make ui` before building it", bin)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dataDir, "kubeconfig"))
	if err != nil {
		tb.Fatalf("loading the kubeconfig written by haul up: %v", err)
	}
	// Seeding thousands of objects must not crawl at client-go's default 5 QPS.
	cfg.QPS, cfg.Burst = 500, 1000
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, haulv1.AddToScheme} {
		if err := add(scheme); err != nil {
			tb.Fatal(err)
		}
	}
	if h.client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		tb.Fatalf("creating a client: %v", err)
	}
	if h.clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		tb.Fatal(err)
	}
	return h
}

// TestDashboard logs in to a real `haul up`, checks the pipeline graph, promotes a
// Freight through the dialog and watches the Stage change without a reload, and
// checks that a viewer is told they may not promote. Then it approves a Freight as
// two users, pauses and resumes a Stage, and overrides a closed promotion window
// with a reason from the browser, and checks each on the objects. Last, it answers a
// Promotion waiting at a wait-for-approval step from the browser (a viewer is refused,
// the promoter approves, the Promotion succeeds) and follows the Stage's pull request
// link.
func TestDashboard(t *testing.T) {
	h := startHaulUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := h.client
	freight := seed(ctx, t, c)
	viewerToken := viewerToken(ctx, t, c, h.clientset)

	shots := os.Getenv("HAUL_E2E_ARTIFACTS")
	if shots == "" {
		shots = filepath.Join(h.tmp, "screenshots")
	}
	env := []string{
		"HAUL_URL=" + h.base,
		"HAUL_TOKEN=" + h.token,
		"HAUL_VIEWER_TOKEN=" + viewerToken,
		"HAUL_PROJECT=" + project,
		"HAUL_STAGES=test,uat,prod",
		"HAUL_WAREHOUSES=app",
		"HAUL_EDGES=app->test,test->uat,uat->prod",
		"HAUL_FREIGHT=" + freight[1].Alias,
		"HAUL_PROMOTE_STAGE=test",
		"HAUL_HOSTILE_TEXT=" + hostileLink,
		"HAUL_SCREENSHOTS=" + shots,
		"HAUL_TIMEOUT_MS=90000",
	}
	run(t, filepath.Join(h.root, "ui"), 8*time.Minute, env, "node", "e2e/promote.mjs")

	// The promotion the browser asked for is a real Promotion object.
	var promos haulv1.PromotionList
	if err := c.List(ctx, &promos, client.InNamespace(project)); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range promos.Items {
		if p.Spec.Stage == "test" && p.Spec.Freight == freight[1].Name {
			found = true
		}
	}
	if !found {
		t.Errorf("no Promotion of %s to test exists after promoting in the browser", freight[1].Name)
	}

	// Governance from the browser: approvals by two users, pause and resume, and an
	// override of prod's closed window by the admin (a promoter is refused).
	promoterToken := roleToken(ctx, t, c, h.clientset, "promoter", "haul-promoter")
	admin, promoter := whoami(t, h.base, h.token), whoami(t, h.base, promoterToken)
	const reason = "hotfix INC-42 from the dashboard"
	gov := []string{
		"HAUL_URL=" + h.base,
		"HAUL_TOKEN=" + h.token,
		"HAUL_PROMOTER_TOKEN=" + promoterToken,
		"HAUL_PROJECT=" + project,
		"HAUL_FREIGHT=" + freight[0].Alias,
		"HAUL_APPROVAL_STAGE=prod",
		"HAUL_PAUSE_STAGE=uat",
		"HAUL_OVERRIDE_REASON=" + reason,
		"HAUL_SCREENSHOTS=" + shots,
		"HAUL_TIMEOUT_MS=90000",
	}
	run(t, filepath.Join(h.root, "ui"), 8*time.Minute, gov, "node", "e2e/governance.mjs")
	checkGovernance(ctx, t, c, freight[0].Name, admin, promoter, reason)

	// A Promotion waiting for the promoter's approval, answered from the browser.
	const gate, message = "gate", "looks good from the dashboard"
	create(ctx, t, c, gateStage(gate, promoter))
	appr := []string{
		"HAUL_URL=" + h.base,
		"HAUL_TOKEN=" + h.token,
		"HAUL_PROMOTER_TOKEN=" + promoterToken,
		"HAUL_VIEWER_TOKEN=" + viewerToken,
		"HAUL_PROJECT=" + project,
		"HAUL_FREIGHT=" + freight[1].Alias,
		"HAUL_GATE_STAGE=" + gate,
		"HAUL_APPROVERS=sub " + promoter,
		"HAUL_MESSAGE=" + message,
		"HAUL_PR_URL=" + gatePR.URL,
		"HAUL_PR_NUMBER=" + fmt.Sprint(gatePR.Number),
		"HAUL_SCREENSHOTS=" + shots,
		"HAUL_TIMEOUT_MS=90000",
	}
	run(t, filepath.Join(h.root, "ui"), 8*time.Minute, appr, "node", "e2e/approval.mjs")
	p := checkAnswered(ctx, t, c, gate, freight[1].Name, promoter, message)

	// The Stage card links its last Promotion's pull request: recorded here on the
	// finished Promotion, as git-wait-for-pr would have.
	before := p.DeepCopy()
	last := len(p.Status.StepExecutionMetadata) - 1
	p.Status.StepExecutionMetadata[last].PullRequest = gatePR.DeepCopy()
	if err := c.Status().Patch(ctx, p, client.MergeFrom(before)); err != nil {
		t.Fatalf("recording a pull request on Promotion %s: %v", p.Name, err)
	}
	run(t, filepath.Join(h.root, "ui"), 8*time.Minute, appr, "node", "e2e/approval.mjs", "--pull-request")
}

// gatePR is the pull request the test records on the gate Stage's Promotion.
var gatePR = haulv1.PullRequestStatus{URL: "https://git.example/acme/deploy/pulls/7", Number: 7, State: haulv1.PullRequestMerged}

// gateStage is a Stage that takes Freight straight from the Warehouse and whose
// Promotions wait at step sign-off for one approval by approver.
func gateStage(name, approver string) *haulv1.Stage {
	cfg := fmt.Sprintf(`{"approvers":[{"claim":"sub","value":%q}]}`, approver)
	return &haulv1.Stage{
		ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: name},
		Spec: haulv1.StageSpec{
			RequestedFreight: []haulv1.FreightRequest{{
				Origin:  haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"},
				Sources: haulv1.FreightSources{Direct: true},
			}},
			PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{
				Steps: []haulv1.PromotionStep{
					{Uses: "wait-for-approval", As: "sign-off", Config: &apiextensionsv1.JSON{Raw: []byte(cfg)}},
					{Uses: "compose-output", As: "record", Config: &apiextensionsv1.JSON{Raw: []byte(`{"promoted":"${{ ctx.targetFreight.alias }}"}`)}},
				},
			}},
		},
	}
}

// checkAnswered asserts that Stage stage has exactly one Promotion, of freightName,
// that succeeded on approver's approval with message (the viewer's refused answer left
// no trace), and returns it.
func checkAnswered(ctx context.Context, t *testing.T, c client.Client, stage, freightName, approver, message string) *haulv1.Promotion {
	t.Helper()
	var promos haulv1.PromotionList
	if err := c.List(ctx, &promos, client.InNamespace(project)); err != nil {
		t.Fatal(err)
	}
	var mine []haulv1.Promotion
	for _, p := range promos.Items {
		if p.Spec.Stage == stage {
			mine = append(mine, p)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("Stage %s has %d Promotions, want the one promoted in the browser", stage, len(mine))
	}
	p := &mine[0]
	if p.Spec.Freight != freightName || p.Status.Phase != haulv1.PromotionSucceeded {
		t.Errorf("Promotion %s of %s is %s (%s), want Succeeded with %s", p.Name, p.Spec.Freight, p.Status.Phase, p.Status.Message, freightName)
	}
	var answers []struct{ Step, User, Action, Message string }
	if err := json.Unmarshal([]byte(p.Annotations[haulv1.AnnotationApprovalResponses]), &answers); err != nil {
		t.Fatalf("reading the answers of Promotion %s: %v", p.Name, err)
	}
	if len(answers) != 1 || answers[0].Step != "sign-off" || answers[0].User != approver || answers[0].Action != "approve" || answers[0].Message != message {
		t.Errorf("Promotion %s records the answers %+v, want one approval of sign-off by %s with %q", p.Name, answers, approver, message)
	}
	return p
}

// checkGovernance asserts, on the objects, what the governance part of the browser
// test did: both users' approvals of the Freight for prod, uat resumed by the admin
// through the API, and a Promotion to prod that records the admin's override reason.
func checkGovernance(ctx context.Context, t *testing.T, c client.Client, freightName, admin, promoter, reason string) {
	t.Helper()
	var f haulv1.Freight
	if err := c.Get(ctx, client.ObjectKey{Namespace: project, Name: freightName}, &f); err != nil {
		t.Fatal(err)
	}
	approvers := map[string]bool{}
	for _, a := range f.Status.Approvals {
		if a.Stage == "prod" && a.ApprovedAt != nil {
			approvers[a.Identity] = true
		}
	}
	if len(approvers) != 2 || !approvers[admin] || !approvers[promoter] {
		t.Errorf("Freight approvals for prod are %+v, want one by %s and one by %s", f.Status.Approvals, admin, promoter)
	}
	if _, ok := f.Status.ApprovedFor["prod"]; !ok {
		t.Errorf("Freight is not approvedFor prod after two approvals: %+v", f.Status.ApprovedFor)
	}

	var uat haulv1.Stage
	if err := c.Get(ctx, client.ObjectKey{Namespace: project, Name: "uat"}, &uat); err != nil {
		t.Fatal(err)
	}
	if uat.Spec.Paused {
		t.Error("uat is still paused after resuming it in the browser")
	}
	if got := uat.Annotations[haulv1.AnnotationActionActor]; got != "api:"+admin {
		t.Errorf("uat's %s is %q, want api:%s (the pause and resume went through the API)", haulv1.AnnotationActionActor, got, admin)
	}

	var promos haulv1.PromotionList
	if err := c.List(ctx, &promos, client.InNamespace(project)); err != nil {
		t.Fatal(err)
	}
	want := "api:" + admin + ": " + reason
	var overrides []string
	for _, p := range promos.Items {
		if p.Spec.Stage == "prod" {
			if p.Spec.Freight != freightName {
				t.Errorf("Promotion %s promotes %s to prod, want %s", p.Name, p.Spec.Freight, freightName)
			}
			overrides = append(overrides, p.Annotations[haulv1.AnnotationWindowOverride])
		}
	}
	if len(overrides) != 1 || overrides[0] != want {
		t.Errorf("Promotions to prod carry %s %q, want exactly one with %q", haulv1.AnnotationWindowOverride, overrides, want)
	}
}

// seed creates the project, a Warehouse backed by a local registry, a three-stage
// pipeline and two Freight, and returns the Freight oldest first.
func seed(ctx context.Context, t testing.TB, c client.Client) []haulv1.Freight {
	t.Helper()
	reg, err := testservers.StartRegistry()
	if err != nil {
		t.Fatalf("starting the registry: %v", err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	repo := reg.Repo("acme/app")
	var images []haulv1.Image
	for _, tag := range []string{"1.0.0", "1.1.0"} {
		digest, err := reg.PushImage("acme/app", tag, testservers.ImageOptions{})
		if err != nil {
			t.Fatalf("pushing %s:%s: %v", repo, tag, err)
		}
		images = append(images, haulv1.Image{RepoURL: repo, Tag: tag, Digest: digest})
	}

	create(ctx, t, c, &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: project}})
	waitFor(ctx, t, "the project namespace and its haul-viewer role", func() (bool, error) {
		var role rbacv1.Role
		err := c.Get(ctx, client.ObjectKey{Namespace: project, Name: "haul-viewer"}, &role)
		return err == nil, client.IgnoreNotFound(err)
	})

	// prod needs two approvals (by a project policy, as the dashboard must work out)
	// and is frozen by a Deny window that lasts beyond the test.
	create(ctx, t, c, &haulv1.ProjectConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: project},
		Spec: haulv1.ProjectConfigSpec{
			ApprovalPolicies: []haulv1.ApprovalPolicy{{
				StageSelector:       haulv1.StageSelector{Name: "glob:pro*"},
				ApprovalRequirement: haulv1.ApprovalRequirement{RequiredApprovals: 2},
			}},
			PromotionWindows: []haulv1.PromotionWindow{{
				Name:          "ui-freeze",
				Kind:          haulv1.PromotionWindowDeny,
				StageSelector: &haulv1.StageSelector{Name: "prod"},
				DTStart:       "20200101T000000Z",
				DTEnd:         "20990101T000000Z",
			}},
		},
	})

	create(ctx, t, c, &haulv1.Warehouse{
		ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "app"},
		Spec: haulv1.WarehouseSpec{
			FreightCreationPolicy: haulv1.FreightCreationPolicy("Manual"),
			Subscriptions:         []haulv1.RepoSubscription{{Image: &haulv1.ImageSubscription{RepoURL: repo}}},
		},
	})
	origin := haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}
	stage := func(name string, sources haulv1.FreightSources) *haulv1.Stage {
		return &haulv1.Stage{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: project,
				Name:      name,
				// The dashboard must show this as text, never as a link (reliability 37).
				Annotations: map[string]string{"haul.dev/runbook": hostileLink},
			},
			Spec: haulv1.StageSpec{
				RequestedFreight: []haulv1.FreightRequest{{Origin: origin, Sources: sources}},
				PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{
					Steps: []haulv1.PromotionStep{{
						Uses:   "compose-output",
						As:     "record",
						Config: &apiextensionsv1.JSON{Raw: []byte(`{"promoted":"${{ ctx.targetFreight.alias }}"}`)},
					}},
				}},
			},
		}
	}
	create(ctx, t, c, stage("test", haulv1.FreightSources{Direct: true}))
	create(ctx, t, c, stage("uat", haulv1.FreightSources{Stages: []string{"test"}}))
	create(ctx, t, c, stage("prod", haulv1.FreightSources{Stages: []string{"uat"}}))

	var out []haulv1.Freight
	for i, img := range images {
		imgs := []haulv1.Image{img}
		f := haulv1.Freight{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: project,
				Name:      warehouse.FreightID(origin, imgs, nil, nil),
				Labels:    map[string]string{haulv1.LabelAlias: fmt.Sprintf("ui-freight-%d", i+1)},
			},
			Alias:  fmt.Sprintf("ui-freight-%d", i+1),
			Origin: origin,
			Images: imgs,
		}
		create(ctx, t, c, &f)
		out = append(out, f)
	}
	return out
}

// viewerToken makes a ServiceAccount bound to the project's haul-viewer Role and
// returns a token for it, which the server checks with a TokenReview.
func viewerToken(ctx context.Context, t testing.TB, c client.Client, cs kubernetes.Interface) string {
	t.Helper()
	return roleToken(ctx, t, c, cs, "viewer", "haul-viewer")
}

// roleToken makes a ServiceAccount name bound to the project's Role role and returns
// a token for it.
func roleToken(ctx context.Context, t testing.TB, c client.Client, cs kubernetes.Interface, name, role string) string {
	t.Helper()
	create(ctx, t, c, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: name}})
	create(ctx, t, c, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: project, Name: name}},
	})
	tr, err := cs.CoreV1().ServiceAccounts(project).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a token for the %s ServiceAccount: %v", name, err)
	}
	return tr.Status.Token
}

// whoami is the user name the Haul server authenticates token as.
func whoami(t testing.TB, base, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /api/v1/whoami: %v", err)
	}
	defer res.Body.Close()
	var me struct {
		Username string `json:"username"`
	}
	if err := json.NewDecoder(res.Body).Decode(&me); err != nil || res.StatusCode != http.StatusOK || me.Username == "" {
		t.Fatalf("GET /api/v1/whoami: %s, %v", res.Status, err)
	}
	return me.Username
}

func create(ctx context.Context, t testing.TB, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func waitFor(ctx context.Context, t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	waitForUpTo(ctx, t, what, 90*time.Second, cond)
}

func waitForUpTo(ctx context.Context, t testing.TB, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond() })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// buildUI builds the dashboard so that the haul binary embeds it (what `make ui` does).
// HAUL_UI_BUILD=skip keeps the existing ui/dist, e.g. an unminified build for profiling.
func buildUI(t testing.TB, root string) {
	t.Helper()
	dir := filepath.Join(root, "ui")
	if os.Getenv("HAUL_UI_BUILD") == "skip" {
		if _, err := os.Stat(filepath.Join(dir, "dist", "index.html")); err != nil {
			t.Fatalf("HAUL_UI_BUILD=skip, but the dashboard is not built: %v", err)
		}
		return
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		run(t, dir, 5*time.Minute, nil, "npm", "ci", "--no-audit", "--no-fund")
	}
	run(t, dir, 5*time.Minute, nil, "npm", "run", "build")
}

// run runs a command, streaming its output into the test log, and fails the test
// when it fails.
func run(t testing.TB, dir string, timeout time.Duration, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GOTOOLCHAIN=local"}, env...)...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.Logf("%s: %s", name, sc.Text())
		}
	}()
	err := cmd.Run()
	_ = pw.Close()
	<-done
	if err != nil {
		t.Fatalf("%s %s in %s: %v", name, strings.Join(args, " "), dir, err)
	}
}

// output runs a command and returns its combined output, failing the test when it fails.
func output(tb testing.TB, dir string, env []string, name string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHaul runs `haul up` and returns a function that stops it with SIGINT, as a
// user pressing Ctrl-C would, and prints its output when the test failed.
func startHaul(t testing.TB, bin, dataDir, addr string) func() {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, "up", "--data-dir", dataDir, "--addr", addr)
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &out}, &syncWriter{w: &out}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting haul up: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(outString(&out), "Haul is up.") {
		select {
		case err := <-exited:
			t.Fatalf("haul up exited before it was up: %v\n%s", err, outString(&out))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("haul up did not print \"Haul is up.\" within 4 minutes:\n%s", outString(&out))
		}
	}
	return func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("haul up output:\n%s", outString(&out))
			if log, err := os.ReadFile(filepath.Join(dataDir, "logs", "haul.log")); err == nil {
				t.Logf("last lines of haul.log:\n%s", tail(string(log), 60))
			}
		}
	}
}

func waitForAPI(t testing.TB, base, token string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/api/v1/whoami did not answer 200 within 2 minutes (last: %v)", base, describe(res, err))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func get(tb testing.TB, url string) string {
	tb.Helper()
	res, err := http.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	return string(b)
}

func describe(res *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return res.Status
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return strings.TrimSpace(string(b))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
