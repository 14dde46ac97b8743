// Package forge opens, reads and merges pull requests on Git hosting services (Gitea,
// GitHub, GitLab, Bitbucket Cloud, Azure DevOps) through each forge's own Go client,
// for the git-open-pr, git-wait-for-pr and git-merge-pr promotion steps, and replays
// commits through GitHub's Git data API for github-push.
package forge
