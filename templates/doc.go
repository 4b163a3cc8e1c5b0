// Package templates will hold the templ components (*.templ and their
// committed *_templ.go) and the view models they render. Templates see view
// models only, never engine or store types.
package templates
