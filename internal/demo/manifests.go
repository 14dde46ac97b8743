package demo

import (
	"bytes"
	"fmt"
	"text/template"
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
	for _, stage := range []string{"test", "uat", "prod"} {
		files["stages/"+stage+"/kustomization.yaml"] = fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: guestbook-%s
resources:
  - ../../base
images:
  - name: %s
    newTag: 1.0.0
`, stage, imageRef)
	}
	return files
}

var manifestTemplate = template.Must(template.New("demo").Parse(`apiVersion: haul.dev/v1alpha1
kind: Project
metadata:
  name: demo
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

// Manifests renders the demo project for the given registry image, Git repo and app URL.
func Manifests(image, gitRepo, appURL string) ([]byte, error) {
	var b bytes.Buffer
	err := manifestTemplate.Execute(&b, map[string]any{
		"Image":   image,
		"GitRepo": gitRepo,
		"AppURL":  appURL,
		"Stages":  []stageSpec{{"test", ""}, {"uat", "test"}, {"prod", "uat"}},
	})
	return b.Bytes(), err
}
