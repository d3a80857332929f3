// Package web serves the browser side of danmu from the HTTP API's port:
// the demo page at "/" (a live room with comments flying across a stream
// area), its assets, and danmu.js, the JavaScript client of the WebSocket
// protocol, all embedded in the binary. It imports no other package of this
// module: cmd/danmu hands it the ingest server as a Registrar.
//
// The JavaScript side lives beside this file: client/ is the client's npm
// package (danmu-client: danmu.js, its type declarations and its packaging
// tests), served as danmu.js; demo.js, demo.css and index.html are the
// page; web/test holds the client's Node tests and web/e2e the end-to-end
// test in headless Chromium (see README.md).
package web
