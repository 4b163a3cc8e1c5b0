// Package static will embed the hand-written CSS, the small optional script
// and the images, and serve them under content-hashed URLs with immutable
// caching.
package static
