// Package proxyproto parses the PROXY protocol header, versions 1 (text)
// and 2 (binary), that L4 load balancers such as HAProxy, nginx stream and
// cloud network balancers put at the start of a connection to carry the
// address of the client they accepted it from
// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt).
//
// It is pure: no I/O, no goroutines, and it imports no other package of
// this module. The edge calls it from its event loops on the bytes gnet
// has buffered, the HTTP API on the bytes its listener read; both decide
// with Resolve whom they may believe.
package proxyproto
