// Package gitx keeps one cached bare Git repository per remote URL, shared by every
// Promotion, and checks out cheap per-Promotion work trees from it (git clone --shared).
// It drives the git CLI, which measured faster than go-git for checkout and push of large
// trees (see bench_test.go).
package gitx
