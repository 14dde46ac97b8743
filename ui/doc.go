// Package ui serves Haul's web dashboard: the React application built from ui/src
// by `make ui` into ui/dist and embedded into the haul binary.
package ui
