// Package generic compiles, checks and evaluates the expressions of Kargo-style generic
// webhook receiver actions (ProjectConfig and ClusterConfig
// spec.webhookReceivers[].generic.actions): the boolean whenExpression and the ${{ }}
// templates of names, label values, index values and parameters, over the request
// environment Kargo defines (request.body, request.header, request.headers,
// request.params, params, normalizeGit, normalizeImage, normalizeChart). It is a plain
// library: `haul apply` checks actions with it and the webhook handler runs them.
package generic
