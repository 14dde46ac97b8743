// Package credentials finds repository credentials in Secrets labelled
// haul.dev/cred-type (git, image, helm or generic) in a project namespace, falling back to
// a shared namespace whose credentials every project may use.
package credentials
