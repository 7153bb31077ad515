// Package redact masks secrets in text shown to people: log records, the
// status document, plan and validate output. A Redactor is built from the
// values that ${VAR} interpolation put into the file (config.Config.Secrets)
// and is applied where text leaves the program, never to what is sent to the
// registry.
//
// Three kinds of secret are masked: URL passwords (always, as net/url's
// URL.Redacted does), the interpolated values, and the values of headers and
// options whose names look sensitive (Authorization, Cookie, *token*,
// *secret*, *key*, *password*, *auth*).
package redact
