// Package webhook receives push notifications from Git hosts and registries at
// /webhooks/<project>/<receiver> and refreshes every Warehouse of that project that
// subscribes to the repository named in the payload, by setting a new value on its
// haul.dev/refresh annotation. Pull (merge) request events from GitHub, Gitea and
// GitLab that say a pull request was merged or closed set the same annotation on the
// project's Running Promotions whose current step waits on that pull request (its
// stepExecutionMetadata pullRequest.url, compared with the payload's web URL, as
// Kargo does), so the step looks again at once instead of at its next poll.
//
// Receivers are declared in ProjectConfig.spec.webhookReceivers; the Secret named by a
// receiver's secretRef (in the project namespace) holds the shared secret under the key
// "secret". The ClusterConfig's receivers listen at /webhooks/-/cluster/<receiver>, read
// their Secret from the cluster secrets namespace (Options) and act in every project.
// Requests are authenticated as follows, always with constant-time compares:
//
//   - github, gitea: X-Hub-Signature-256 = "sha256=" + hex(HMAC-SHA256(secret, body)).
//   - gitlab:  X-Gitlab-Token = secret.
//   - generic: X-Haul-Signature = "sha256=" + hex(HMAC-SHA256(secret, body)), or the
//     secret as a bearer token as dockerhub. Without actions the body is JSON
//     {"repoURL": "..."} or {"repoURLs": ["...", ...]}; with actions (Kargo's) each action
//     whose whenExpression holds refreshes the Warehouses and Promotions its criteria
//     select, only ever in the receiver's project, and the answer lists per-action
//     results (actions.go; expressions in package generic).
//   - dockerhub, quay, harbor: these services cannot sign requests, so the secret is a
//     bearer token, sent either in the receiver URL's query (?token=<secret>) or in the
//     Authorization header ("Bearer <secret>" or the bare secret, as Harbor's "auth
//     header" setting sends it).
//   - bitbucket: X-Hub-Signature = "sha256=" + hex(HMAC-SHA256(secret, body)); X-Event-Key
//     repo:push (Cloud, links.html) or repo:refs_changed (Data Center, links.clone).
//   - artifactory: X-Jfrog-Event-Auth = hex(HMAC-SHA256(secret, body)), no prefix; the
//     Secret key may be Kargo's secret-token. Only "pushed" docker-domain events.
//   - azure: a bearer token as dockerhub, or basic authentication with the secret as
//     password (Azure DevOps); the body says whether it is an ACR push or a DevOps git.push.
//
// The body is capped (1 MiB) and the read deadline set before anything else, so an
// oversized or slow upload is rejected before any signature work. A bad or missing
// signature answers 401; a malformed payload, an unsupported event or a repeated
// delivery ID answers 400; in every such case nothing is refreshed.
package webhook
