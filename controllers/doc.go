// Package controllers wires every Haul reconciler into a controller-runtime manager.
package controllers
