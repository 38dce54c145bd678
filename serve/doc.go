// Package serve exposes trained routers over HTTP: a route handler that
// returns the chosen model for a prompt, and an OpenAI-compatible proxy
// handler (chat completions) that routes each request and forwards it to the
// chosen upstream model. It also owns the service metrics, hot reload of
// router artifacts without dropping requests, and the decision log that
// records every routing decision.
//
// Durations are measured in seconds and costs in USD. Handlers are safe for
// concurrent use; a reload swaps the active router atomically, so in-flight
// requests finish on the router they started with. serve loads artifacts
// through package models and never imports package train.
package serve
