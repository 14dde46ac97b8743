package demo

import (
	"errors"
	"io"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func decodeAll(t *testing.T, b []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(b)), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decoding: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// TestFluxManifests: with Flux, every stage gets its namespace, a GitRepository on its
// own branch and a Kustomization applying it into that namespace, all applied before any
// Stage (a Stage promoting first would find no Flux object to reconcile), and each
// Stage's promotion ends with flux-reconcile on its own GitRepository and Kustomization.
// Without Flux, none of it is there.
func TestFluxManifests(t *testing.T) {
	b, err := Manifests("127.0.0.1:5000/demo/guestbook", "http://127.0.0.1:3000/gitops.git", "http://127.0.0.1:8081", true)
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeAll(t, b)
	index := map[string]int{}
	for i, o := range objs {
		index[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = i
	}
	if objs[0].GetKind() != "Project" {
		t.Fatalf("first object is a %s, want the Project (apply waits for its namespace)", objs[0].GetKind())
	}
	firstStage := len(objs)
	for i, o := range objs {
		if o.GetKind() == "Stage" && i < firstStage {
			firstStage = i
		}
	}
	for _, stage := range Stages {
		name, ns := FluxObjectName(stage), StageNamespace(stage)
		for _, key := range []string{"Namespace /" + ns, "GitRepository " + FluxNamespace + "/" + name, "Kustomization " + FluxNamespace + "/" + name} {
			i, ok := index[key]
			if !ok {
				t.Errorf("no %s", key)
				continue
			}
			if i > firstStage {
				t.Errorf("%s comes after Stage %s", key, objs[firstStage].GetName())
			}
		}
		gr := objs[index["GitRepository "+FluxNamespace+"/"+name]]
		if br, _, _ := unstructured.NestedString(gr.Object, "spec", "ref", "branch"); br != "stage/"+stage {
			t.Errorf("GitRepository %s follows branch %q, want stage/%s", name, br, stage)
		}
		ks := objs[index["Kustomization "+FluxNamespace+"/"+name]]
		if tn, _, _ := unstructured.NestedString(ks.Object, "spec", "targetNamespace"); tn != ns {
			t.Errorf("Kustomization %s applies into %q, want %s", name, tn, ns)
		}
		if src, _, _ := unstructured.NestedString(ks.Object, "spec", "sourceRef", "name"); src != name {
			t.Errorf("Kustomization %s takes source %q, want %s", name, src, name)
		}
		s := objs[index["Stage demo/"+stage]]
		stepsList, _, _ := unstructured.NestedSlice(s.Object, "spec", "promotionTemplate", "spec", "steps")
		last, _ := stepsList[len(stepsList)-1].(map[string]any)
		if last["uses"] != "flux-reconcile" {
			t.Fatalf("Stage %s's last step is %v, want flux-reconcile", stage, last["uses"])
		}
		res, _, _ := unstructured.NestedSlice(last, "config", "resources")
		var got []string
		for _, r := range res {
			m, _ := r.(map[string]any)
			got = append(got, m["kind"].(string)+" "+m["namespace"].(string)+"/"+m["name"].(string))
		}
		want := "GitRepository " + FluxNamespace + "/" + name + ",Kustomization " + FluxNamespace + "/" + name
		if strings.Join(got, ",") != want {
			t.Errorf("Stage %s reconciles %v, want %s", stage, got, want)
		}
	}

	plain, err := Manifests("127.0.0.1:5000/demo/guestbook", "http://127.0.0.1:3000/gitops.git", "http://127.0.0.1:8081", false)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(plain); strings.Contains(s, "fluxcd.io") || strings.Contains(s, "flux-reconcile") {
		t.Errorf("the demo without Flux mentions Flux:\n%s", s)
	}
}
