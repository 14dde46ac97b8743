package demo

import (
	"bytes"
	"fmt"
	"text/template"

	"github.com/haul-dev/haul/internal/testservers"
)

// gitopsFiles is the demo GitOps repository: a kustomize base and one overlay per stage.
func gitopsFiles(imageRef string) map[string]string {
	files := map[string]string{
		"README.md": "# guestbook GitOps repository\n\nHaul renders each stage into branch stage/<name>.\n",
		"base/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
`,
		"base/deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
spec:
  replicas: 1
  selector:
    matchLabels:
      app: guestbook
  template:
    metadata:
      labels:
        app: guestbook
    spec:
      containers:
        - name: guestbook
          image: %s:1.0.0
          ports:
            - containerPort: 8080
`, imageRef),
		"base/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: guestbook
spec:
  selector:
    app: guestbook
  ports:
    - port: 80
      targetPort: 8080
`,
	}
	for _, stage := range Stages {
		files["stages/"+stage+"/kustomization.yaml"] = fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
resources:
  - ../../base
images:
  - name: %s
    newTag: 1.0.0
`, StageNamespace(stage), imageRef)
	}
	return files
}

// manifestTemplate is the demo project. With Flux, each stage also gets a namespace
// (guestbook-<stage>) and, in flux-system, a GitRepository following its branch and a
// Kustomization applying it there; they come before the Stages, so no promotion can
// ask Flux for objects that do not exist yet.
var manifestTemplate = template.Must(template.New("demo").Funcs(template.FuncMap{
	"stageNamespace": StageNamespace, "fluxName": FluxObjectName,
}).Parse(`apiVersion: haul.dev/v1alpha1
kind: Project
metadata:
  name: demo
{{- if .Flux }}
{{- range .Stages }}
---
apiVersion: v1
kind: Namespace
metadata:
  name: {{ stageNamespace .Name }}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: {{ fluxName .Name }}
  namespace: {{ $.FluxNamespace }}
spec:
  url: {{ $.GitRepo }}
  ref:
    branch: stage/{{ .Name }}
  interval: 1m
  timeout: 30s
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {{ fluxName .Name }}
  namespace: {{ $.FluxNamespace }}
spec:
  sourceRef:
    kind: GitRepository
    name: {{ fluxName .Name }}
  path: ./
  targetNamespace: {{ stageNamespace .Name }}
  prune: true
  interval: 5m
  retryInterval: 15s
  timeout: 1m
{{- end }}
{{- end }}
---
apiVersion: haul.dev/v1alpha1
kind: ProjectConfig
metadata:
  name: demo
  namespace: demo
spec:
  promotionPolicies:
    - stageSelector:
        name: "glob:*"
      autoPromotionEnabled: true
---
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata:
  name: guestbook
  namespace: demo
spec:
  interval: 1m
  subscriptions:
    - image:
        repoURL: {{ .Image }}
        imageSelectionStrategy: SemVer
        constraint: ^1
        discoveryLimit: 10
{{- range .Stages }}
---
apiVersion: haul.dev/v1alpha1
kind: Stage
metadata:
  name: {{ .Name }}
  namespace: demo
spec:
  requestedFreight:
    - origin:
        kind: Warehouse
        name: guestbook
      sources:
{{- if .Upstream }}
        stages: [{{ .Upstream }}]
{{- else }}
        direct: true
{{- end }}
  promotionTemplate:
    spec:
      vars:
        - name: repoURL
          value: {{ $.GitRepo }}
      steps:
        - uses: git-clone
          config:
            repoURL: ${{"{{"}} vars.repoURL {{"}}"}}
            checkout:
              - branch: main
                path: ./src
              - branch: stage/{{ .Name }}
                create: true
                path: ./out
        - uses: git-clear
          config:
            path: ./out
        - uses: kustomize-set-image
          as: set-image
          config:
            path: ./src/stages/{{ .Name }}
            images:
              - image: {{ $.Image }}
        - uses: kustomize-build
          config:
            path: ./src/stages/{{ .Name }}
            outPath: ./out/manifests.yaml
        - uses: git-commit
          as: commit
          config:
            path: ./out
            message: ${{"{{"}} "promote " + ctx.targetFreight.alias + " to {{ .Name }}" {{"}}"}}
        - uses: git-push
          as: push
          config:
            path: ./out
            targetBranch: stage/{{ .Name }}
{{- if $.Flux }}
        - uses: flux-reconcile
          as: reconcile
          retry:
            timeout: 3m
          config:
            resources:
              - kind: GitRepository
                name: {{ fluxName .Name }}
                namespace: {{ $.FluxNamespace }}
              - kind: Kustomization
                name: {{ fluxName .Name }}
                namespace: {{ $.FluxNamespace }}
{{- end }}
  verification:
    steps:
      - uses: http
        as: smoke
        config:
          method: GET
          url: {{ $.AppURL }}/healthz?stage={{ .Name }}
          timeout: 10s
          successExpression: response.status == 200
{{- end }}
`))

type stageSpec struct{ Name, Upstream string }

// Stages are the demo's stages, in pipeline order.
var Stages = []string{"test", "uat", "prod"}

// FluxNamespace is where the demo's GitRepositories and Kustomizations live, the
// namespace Flux's controllers run for.
const FluxNamespace = testservers.FluxNamespace

// StageNamespace is the namespace Flux applies a stage's branch into.
func StageNamespace(stage string) string { return "guestbook-" + stage }

// FluxObjectName names a stage's GitRepository and Kustomization (in FluxNamespace).
func FluxObjectName(stage string) string { return "guestbook-" + stage }

// Manifests renders the demo project for the given registry image, Git repo and app
// URL; with flux, each stage is also deployed by Flux and its promotion ends with
// flux-reconcile.
func Manifests(image, gitRepo, appURL string, flux bool) ([]byte, error) {
	var b bytes.Buffer
	err := manifestTemplate.Execute(&b, map[string]any{
		"Image":         image,
		"GitRepo":       gitRepo,
		"AppURL":        appURL,
		"Flux":          flux,
		"FluxNamespace": FluxNamespace,
		"Stages":        []stageSpec{{"test", ""}, {"uat", "test"}, {"prod", "uat"}},
	})
	return b.Bytes(), err
}
