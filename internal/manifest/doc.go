// Package manifest loads multi-document YAML manifests from files, directories or stdin
// and validates a whole set of Haul objects before any of it is written: strict field
// checks against the Go types, schema rules from the CRDs, semver constraints, regexes,
// expressions, and stage cycles across the set and what the cluster already holds.
package manifest
