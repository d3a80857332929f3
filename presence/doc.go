// Package presence owns the fleet-wide online counts: every edge node
// publishes how many viewers each room has on it, with an expiry, and
// readers sum the counts of the nodes that are still alive. With Redis
// (and Redis Cluster: one hash per room under the room's {hash tag}, on
// the process's rdb.Client) the counts hold across any number of edges; a
// node that crashes stops counting within one TTL.
//
// It imports only rdb of this module.
package presence
