// Package redact is Haul's one place for removing credentials from text before it
// reaches a status, an Event, a log line or an error: URL user info, Authorization
// headers, bearer and basic tokens, token-like query parameters, and any value known to
// have come from a Secret (a Values set).
package redact
