// Package ui holds the dashboard's browser test: it starts the real haul binary
// (`haul up`), seeds a project through the Kubernetes API and drives Debian's
// chromium with ui/e2e/promote.mjs. It only builds with the e2e tag.
package ui
