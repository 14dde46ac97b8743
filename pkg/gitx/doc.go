// Package gitx is Haul's one Git layer, used by promotion steps and by Warehouse
// discovery alike. It keeps one cached bare Git repository per remote URL and
// credentials, shared by every Promotion that uses both, and checks out cheap
// per-Promotion work trees that borrow its objects (alternates). Checkout, commit and
// the fetch-rebase-retry loop drive the git CLI, faster than go-git for large trees;
// the ref check that lets a fetch be skipped and the plain fast-forward push run in
// process with go-git, which saves the CLI's process start-ups and history walk (see
// bench_test.go).
//
// Hardening, in one place (Command, CheckURL, ListRemote):
//
//   - git runs with an environment built from scratch (no system or global config, no
//     prompts, askpass and proxy commands set empty) and with configuration pinned on
//     its command level, which outranks any repository's own config: hooks, fsmonitor,
//     ssh and pager commands, editors, credential helpers and signing are off, and
//     only the https, http and ssh transports are allowed (protocol.allow=never
//     otherwise; nothing in Haul fetches from a local path: work trees borrow the
//     cache's objects through alternates).
//   - Keys that cannot be pinned away (filter.<driver>.*, diff.<driver>.*,
//     include.path, url.<base>.insteadOf, remote.origin.*) are dealt with by rewriting
//     a work tree's .git/config to Haul's known content before every git call in it
//     (a single small file write, so the measured speed stays), removing files that
//     would redirect git (commondir, config.worktree, info/attributes), refusing a
//     .git that is not a directory, and naming the git dir and work tree explicitly.
//     The work tree's git dir stays inside the Promotion's work dir (moving it out
//     would complicate the tree pool and the restart of a Promotion for no more
//     safety): promotion steps cannot reach it, because promotion.SecurePath refuses
//     every path inside a .git directory, and this rewrite is the second line.
//   - Every repository URL is checked (RemotePolicy): only https://, http:// (unless
//     refused), ssh:// and scp-style remotes; never file://, local paths, ext:: or
//     other remote helpers, or values git would read as options.
//   - The cache is keyed by URL and credentials, so objects fetched with one
//     project's credentials are never served to a caller with other credentials.
//   - Credentials travel only as an Authorization header in the environment (CLI) or
//     go-git's basic auth (in process), and every error is redacted by pkg/redact.
package gitx
