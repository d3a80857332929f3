// Package codec encodes and decodes wire formats: WebSocket frames, batched
// message frames, comments and their validation rules, and JSON (sonic). It
// is pure: no I/O, no goroutines, and it imports no other package of this
// module.
package codec
