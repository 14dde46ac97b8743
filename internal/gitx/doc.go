// Package gitx keeps one cached bare Git repository per remote URL, shared by every
// Promotion, and checks out cheap per-Promotion work trees that borrow its objects
// (alternates). Checkout, commit and the fetch-rebase-retry loop drive the git CLI,
// faster than go-git for large trees; the ref check that lets a fetch be skipped and
// the plain fast-forward push run in process with go-git, which saves the CLI's
// process start-ups and history walk (see bench_test.go).
package gitx
