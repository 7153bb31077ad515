// Package maintpage serves the maintenance page: one page, built in or
// rendered from the operator's template, on its own listener, so that it is
// there while the application is down. Visitors the proxy forwards get it
// with 503 and Retry-After; the proxy's reachability check gets 200
// (PROTOCOL.md §5). It serves no other file. Of regagent it imports only
// httplimit, which bounds its connections, and regularfile, which reads the
// template.
package maintpage
