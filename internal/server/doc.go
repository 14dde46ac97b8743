// Package server is Haul's REST API: JSON reads of projects, warehouses, stages, freight
// and promotions, the actions a dashboard offers (promote, approve, abort, refresh,
// apply), and a per-project stream of changes as server-sent events. Every request runs
// with the caller's own Kubernetes rights, checked by impersonation or access review.
//
// Routes (all under /api/v1, JSON; errors are {"code", "reason", "message"}):
//
//	GET   /whoami
//	GET   /projects, /projects/{p}, /projects/{p}/projectconfig, /projects/{p}/permissions
//	GET   /projects/{p}/{warehouses|stages|freight|promotions}[/{name}]
//	      (?origin=<warehouse> on freight, ?stage=<stage> on promotions)
//	GET   /projects/{p}/events                        server-sent events, Last-Event-ID
//	POST  /projects/{p}/stages/{s}/promote            {"freight"}  → 201 Promotion
//	POST  /projects/{p}/stages/{s}/promote-downstream {"freight"}  → 201 {"items"}
//	POST  /projects/{p}/freight/{f}/approve           {"stage"}    → Freight
//	POST  /projects/{p}/stages/{s}/pause, /stages/{s}/resume           → Stage
//	PATCH /projects/{p}/freight/{f}/alias             {"alias"}    → Freight
//	POST  /projects/{p}/promotions/{n}/abort
//	POST  /projects/{p}/warehouses/{w}/refresh, /stages/{s}/refresh,
//	      /stages/{s}/reverify, /stages/{s}/abort-verification
//	POST  /apply                                      multi-document YAML
//
// Lists are served from shared informers after a SubjectAccessReview; single reads and
// most writes go to the API server impersonating the caller. Promoting also needs the
// custom verb promote on the Stage, and approving the custom verb approve on the
// Freight. Abort, refresh, reverify, abort-verification, pause and resume need the
// custom verbs abort, refresh, reverify and pause on the object (never patch or update,
// which would let the caller rewrite its spec); approve and those actions are then
// written with the server's own rights, recording the caller (status.approvals[],
// annotation haul.dev/action-actor). See docs/governance.md. Objects of a
// project the caller may not see answer 404 exactly like missing ones.
//
// Identities from OIDC ID tokens are prefixed (default "oidc:") before they are
// impersonated, and none lands in system:. Serve the handler with Limits.HTTPServer
// (or equal timeouts): bodies are capped per route, 413 above the cap.
package server
