package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/danmu-dev/danmu/ingest"
)

// publicURLs are where clients reach the node through the load balancer,
// which may differ from where it listens: behind TLS termination the
// edges listen on plain ws:// while browsers connect to wss://. They
// drive the demo page's /config.json, getDanmuInfo's host_list and the
// startup banner.
type publicURLs struct {
	// ws are the edges' public WebSocket URLs as given
	// (wss://live.example.com), each checked by ingest.ParseBiliEdge.
	ws []string
	// http is the HTTP API's public URL (https://live.example.com),
	// without a trailing slash, or empty.
	http string
}

// pageWebSocket returns the URL of /ws the demo page connects to: on the
// first public WebSocket URL, or empty when none is set.
func (p publicURLs) pageWebSocket() string {
	if len(p.ws) == 0 {
		return ""
	}
	return p.wsBase() + "/ws"
}

// wsBase returns scheme://host[:port] of the first public WebSocket URL.
func (p publicURLs) wsBase() string {
	u, err := url.Parse(p.ws[0])
	if err != nil {
		panic("cmd/danmu: --public-ws-url was checked: " + err.Error())
	}
	return u.Scheme + "://" + u.Host
}

// publicFlags registers the flags of how clients reach the node through a
// load balancer, which the edge and the HTTP API share.
func publicFlags(fs *flag.FlagSet, o *options) {
	fs.Var(publicWSFlag{urls: &o.public.ws, edges: &o.ingest.Bili.Edges}, "public-ws-url",
		"public WebSocket URLs of the edges, comma-separated (wss://live.example.com,ws://203.0.113.7:7070): the first is the one the demo page (/config.json) and the banner give; "+
			"all are the host_list of the Bilibili-compatible getDanmuInfo; empty: the WebSocket address of this process (serve), with the request's host when it listens on every address, or the request's host at port 7070 (ingest)")
	fs.Var(httpURLFlag{&o.public.http}, "public-http-url", "public URL of the HTTP API behind the load balancer (https://live.example.com), which the banner gives (empty: the address it listens on)")
	fs.Var(&o.proxyProtocol, "proxy-protocol", "addresses and CIDR prefixes of the L4 load balancers that begin each connection with a PROXY protocol header, v1 or v2 (10.0.0.0/8,192.0.2.1,...): "+
		"the edge and the HTTP API then take the client's address from it; a connection from them without one, or from anyone else with one, is closed (empty: off)")
}

// publicWSFlag is --public-ws-url.
type publicWSFlag struct {
	urls  *[]string
	edges *[]ingest.BiliEdge
}

func (f publicWSFlag) String() string {
	if f.urls == nil {
		return ""
	}
	return strings.Join(*f.urls, ",")
}

func (f publicWSFlag) Set(s string) error {
	edges, err := parseList(s, ingest.ParseBiliEdge)
	if err != nil {
		return err
	}
	urls, _ := parseList(s, func(u string) (string, error) { return u, nil })
	*f.urls, *f.edges = urls, edges
	return nil
}

// httpURLFlag is --public-http-url: an http:// or https:// URL of a host,
// with an optional port and path prefix, and no query.
type httpURLFlag struct{ p *string }

func (f httpURLFlag) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}

func (f httpURLFlag) Set(s string) error {
	if s == "" {
		*f.p = ""
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: the scheme must be http or https", s)
	case u.Hostname() == "":
		return fmt.Errorf("%q has no host", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return errors.New("want scheme://host[:port][/path] alone")
	}
	*f.p = strings.TrimSuffix(s, "/")
	return nil
}
