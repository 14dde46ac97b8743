// Package printers renders Haul objects for the terminal: aligned tables with relative
// times, and JSON, YAML or resource/name output that can be applied again.
package printers
