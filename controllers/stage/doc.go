// Package stage reconciles Stages: it keeps Freight availability records true, creates
// auto-promotions, assesses health from the checks promotions leave behind, runs
// verification, and refuses to act on Stages whose upstream references form a cycle.
package stage
