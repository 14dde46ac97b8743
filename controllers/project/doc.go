// Package project reconciles Projects: each owns a namespace of the same name, holding
// the per-project roles haul-viewer, haul-approver, haul-promoter and haul-admin.
package project
