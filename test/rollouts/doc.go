// Package rollouts tests Stage verification with Argo Rollouts analysis on a real API
// server. In every build it proves that verification naming AnalysisTemplates never
// passes while Argo Rollouts is not installed. Built with the rollouts tag (make
// test-rollouts) it installs Rollouts' CRDs and runs the real rollouts-controller built
// by hack/rollouts/build.sh.
package rollouts
