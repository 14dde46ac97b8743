// Package forge opens, reads and merges pull requests on Git hosting services (Gitea,
// GitHub, ...) through each forge's own Go client, for the git-open-pr, git-wait-for-pr
// and git-merge-pr promotion steps.
package forge
