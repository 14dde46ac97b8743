package kargo

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/warehouse"
)

func obj(t *testing.T, y string) Object {
	t.Helper()
	var o Object
	if err := yaml.Unmarshal([]byte(y), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func convertOne(t *testing.T, y string) []Result {
	t.Helper()
	res, err := ConvertAll([]Object{obj(t, y)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestProjectPromotionPoliciesBecomeAProjectConfig(t *testing.T) {
	res := convertOne(t, `
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: demo, labels: {kargo.akuity.io/team: a}}
spec:
  promotionPolicies:
  - {stage: test, autoPromotionEnabled: true}
  - {stageSelector: {name: "glob:prod-*"}, autoPromotionEnabled: false}
`)
	if len(res) != 2 {
		t.Fatalf("want Project and ProjectConfig, got %d objects", len(res))
	}
	want := obj(t, `
apiVersion: haul.dev/v1alpha1
kind: Project
metadata: {name: demo, labels: {haul.dev/team: a}}
`)
	if !reflect.DeepEqual(res[0].Object, want) {
		t.Errorf("project = %v", res[0].Object)
	}
	wantCfg := obj(t, `
apiVersion: haul.dev/v1alpha1
kind: ProjectConfig
metadata: {name: demo, namespace: demo}
spec:
  promotionPolicies:
  - {stageSelector: {name: test}, autoPromotionEnabled: true}
  - {stageSelector: {name: "glob:prod-*"}, autoPromotionEnabled: false}
`)
	if !reflect.DeepEqual(res[1].Object, wantCfg) || res[1].From != APIVersion {
		t.Errorf("projectconfig = %v", res[1].Object)
	}
}

func TestWarehouseOlderShapes(t *testing.T) {
	res := convertOne(t, `
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: demo}
spec:
  subscriptions:
  - image: {repoURL: nginx, semverConstraint: ^1.26.0, discoveryLimit: 5, allowTags: '^1\.', ignoreTags: [1.27.0+x]}
  - git: {repoURL: https://git.example/a.git, ignoreTags: [v1]}
`)
	want := obj(t, `
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: demo}
spec:
  subscriptions:
  - image: {repoURL: nginx, constraint: ^1.26.0, discoveryLimit: 5, allowTagsRegexes: ['^1\.'], ignoreTagsRegexes: ['^1\.27\.0\+x$']}
  - git: {repoURL: https://git.example/a.git, ignoreTagsRegexes: ['^v1$']}
`)
	if !reflect.DeepEqual(res[0].Object, want) {
		t.Errorf("got %v", res[0].Object)
	}
}

func TestStageOlderSubscriptionsFollowUpstreamChains(t *testing.T) {
	objs := []Object{
		obj(t, `{apiVersion: kargo.akuity.io/v1alpha1, kind: Stage, metadata: {name: prod, namespace: d}, spec: {subscriptions: {upstreamStages: [{name: uat}]}}}`),
		obj(t, `{apiVersion: kargo.akuity.io/v1alpha1, kind: Stage, metadata: {name: uat, namespace: d}, spec: {subscriptions: {upstreamStages: [{name: test}]}}}`),
		obj(t, `{apiVersion: kargo.akuity.io/v1alpha1, kind: Stage, metadata: {name: test, namespace: d}, spec: {subscriptions: {warehouse: app}}}`),
	}
	res, err := ConvertAll(objs)
	if err != nil {
		t.Fatal(err)
	}
	prod := obj(t, `{apiVersion: haul.dev/v1alpha1, kind: Stage, metadata: {name: prod, namespace: d}, spec: {requestedFreight: [{origin: {kind: Warehouse, name: app}, sources: {stages: [uat]}}]}}`)
	test := obj(t, `{apiVersion: haul.dev/v1alpha1, kind: Stage, metadata: {name: test, namespace: d}, spec: {requestedFreight: [{origin: {kind: Warehouse, name: app}, sources: {direct: true}}]}}`)
	if !reflect.DeepEqual(res[0].Object, prod) || !reflect.DeepEqual(res[2].Object, test) {
		t.Errorf("got %v and %v", res[0].Object, res[2].Object)
	}

	_, err = ConvertAll(objs[:1])
	if err == nil || !strings.Contains(err.Error(), "Stage d/prod: spec.subscriptions.upstreamStages: cannot tell which Warehouse") {
		t.Errorf("unresolvable upstream: %v", err)
	}
}

func TestLabelsRenamedOnEveryObject(t *testing.T) {
	res := convertOne(t, `
apiVersion: v1
kind: Secret
metadata:
  name: creds
  labels: {kargo.akuity.io/cred-type: git, app: x}
  annotations: {kargo.akuity.io/description: d}
`)
	md := res[0].Object["metadata"].(map[string]any)
	if !reflect.DeepEqual(md["labels"], map[string]any{"haul.dev/cred-type": "git", "app": "x"}) ||
		!reflect.DeepEqual(md["annotations"], map[string]any{"haul.dev/description": "d"}) {
		t.Errorf("metadata = %v", md)
	}
	if res[0].From != "" || len(res[0].Notes) != 1 {
		t.Errorf("result = %+v", res[0])
	}
}

func TestRejects(t *testing.T) {
	for name, y := range map[string]string{
		"unknown kind":      `{apiVersion: kargo.akuity.io/v1alpha1, kind: Bogus, metadata: {name: x}}`,
		"other version":     `{apiVersion: kargo.akuity.io/v1beta1, kind: Stage, metadata: {name: x}}`,
		"both constraints":  `{apiVersion: kargo.akuity.io/v1alpha1, kind: Warehouse, metadata: {name: x}, spec: {subscriptions: [{image: {repoURL: a, semverConstraint: ^1, constraint: ^2}}]}}`,
		"subscriptions key": `{apiVersion: kargo.akuity.io/v1alpha1, kind: Stage, metadata: {name: x}, spec: {subscriptions: {warehouse: a, extra: 1}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ConvertAll([]Object{obj(t, y)}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestFreightIsRenamedToItsHaulID(t *testing.T) {
	res := convertOne(t, `
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {name: kargo-id, namespace: d}
alias: brave-otter
origin: {kind: Warehouse, name: app}
images: [{repoURL: nginx, tag: 1.27.0, digest: "sha256:aa"}]
commits: [{repoURL: https://git.example/a.git, id: abc}]
`)
	want := warehouse.FreightID(haulv1.FreightOrigin{Kind: "Warehouse", Name: "app"},
		[]haulv1.Image{{RepoURL: "nginx", Tag: "1.27.0", Digest: "sha256:aa"}},
		[]haulv1.GitCommit{{RepoURL: "https://git.example/a.git", ID: "abc"}}, nil)
	if got := res[0].Object["metadata"].(map[string]any)["name"]; got != want {
		t.Fatalf("name = %v, want the Haul Freight ID %s", got, want)
	}
}

func TestKargoShardBecomesTheHaulShardLabel(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"spec.shard of a Stage": {`
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: prod, namespace: demo}
spec: {shard: eu, requestedFreight: []}
`, `
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata: {name: prod, namespace: demo, labels: {haul.dev/shard: eu}}
spec: {requestedFreight: []}
`},
		"Kargo's shard label on a Promotion": {`
apiVersion: kargo.akuity.io/v1alpha1
kind: Promotion
metadata: {name: p, namespace: demo, labels: {kargo.akuity.io/shard: eu}}
spec: {stage: prod, freight: abc}
`, `
apiVersion: haul.dev/v1alpha1
kind: Promotion
metadata: {name: p, namespace: demo, labels: {haul.dev/shard: eu}}
spec: {stage: prod, freight: abc}
`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := convertOne(t, tc.in)
			if want := obj(t, tc.want); !reflect.DeepEqual(res[0].Object, want) {
				t.Errorf("got %v, want %v", res[0].Object, want)
			}
		})
	}
}
