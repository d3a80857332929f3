// Package metric holds the lock-free counters the core packages keep on
// their hot paths: a fixed-bucket histogram that records without locking
// or allocating. It imports no other package of this module and no
// metrics library; package admin exports these values to Prometheus when
// it is scraped.
package metric
