package controllers

// Each controller adds itself to setupFuncs from its own register_<kind>.go file in this
// package, e.g.:
//
//	func init() { setupFuncs = append(setupFuncs, warehouse.SetupWithManager) }
