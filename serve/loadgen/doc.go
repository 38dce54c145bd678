// Package loadgen is an HTTP load generator for routekit's route endpoint
// (or any endpoint taking a POST body), meant for loopback measurements.
//
// # Modes
//
// Open loop (Config.Rate > 0) sends requests at a constant arrival rate:
// request i is scheduled at start + i/Rate, whatever happened to earlier
// requests, and its latency is measured from that scheduled time. A slow
// server therefore shows up as queueing in the latencies instead of
// silently lowering the request rate (no coordinated omission). At most
// Config.Concurrency requests are in flight; a request that waits for a
// slot longer than Config.Timeout is not sent and counts as a
// "queue timeout" error.
//
// Closed loop (Config.Rate == 0) runs Config.Concurrency workers, each
// sending its next request as soon as the previous one answered, to find
// the maximum throughput. Latency is measured from each send.
//
// # Results
//
// Requests scheduled (open loop) or sent (closed loop) during the warmup
// are not counted. A Result counts the requests sent, the successful (2xx)
// ones and the errors by kind: "status NNN" for a non-2xx answer,
// "timeout", "connection" (refused, reset, malformed answer) and "queue
// timeout". Latency percentiles come from a log-linear histogram with 1 µs
// buckets up to 1,024 µs and a relative bucket width of at most 0.2%
// above; the server's own latency_us field of each 2xx JSON answer, when
// present, is summarised too. An open loop also reports how late each
// request was sent (the send lag: waiting for a slot, and the generator's
// own wake-up delay) and its service time from the actual send.
//
// On Linux the open loop's scheduler sleeps through a timerfd, which wakes
// within tens of microseconds; Go's timers may wake up to 1 ms late when
// the process is otherwise idle, twice the interval at 2,000 requests/s.
//
// Durations are time.Duration; rates are requests per second. Run is safe
// to call concurrently; a Result is plain data.
package loadgen
