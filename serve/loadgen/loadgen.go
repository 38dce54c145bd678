package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Error kinds of Result.ErrorKinds other than "status NNN".
const (
	KindTimeout      = "timeout"       // no answer within Config.Timeout
	KindConnection   = "connection"    // dial, reset, or a malformed answer
	KindQueueTimeout = "queue timeout" // open loop: no free slot within Config.Timeout
)

// Config configures a run. Zero fields mean the defaults.
type Config struct {
	// URL is where requests are POSTed, such as
	// http://127.0.0.1:8080/v1/route. Required.
	URL string
	// Bodies are the request bodies, sent in turn and cycled. Required.
	Bodies [][]byte
	// ContentType is the bodies' type; default application/json.
	ContentType string
	// Rate is the open-loop arrival rate in requests per second; 0 means
	// a closed loop at maximum throughput.
	Rate float64
	// Concurrency is the number of workers of a closed loop (default 16)
	// or the limit on requests in flight of an open loop (default 64).
	Concurrency int
	// Duration is the measured period; default 10 s.
	Duration time.Duration
	// Warmup is an unmeasured period before it; default 0.
	Warmup time.Duration
	// Timeout bounds each request, and an open loop's wait for a free
	// slot; default 5 s.
	Timeout time.Duration
	// Client sends the requests; nil means a client of its own whose
	// keep-alive transport holds Concurrency idle connections.
	Client *http.Client
}

// Defaults of Config.
const (
	DefaultClosedConcurrency = 16
	DefaultOpenConcurrency   = 64
	DefaultDuration          = 10 * time.Second
	DefaultTimeout           = 5 * time.Second
)

// maxKeep is how much of each answer is kept to look at.
const maxKeep = 64 << 10

// maxRequests bounds the requests of one open-loop run (Rate × time).
const maxRequests = 1 << 31

func (c Config) withDefaults() Config {
	if c.ContentType == "" {
		c.ContentType = "application/json"
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultClosedConcurrency
		if c.Rate > 0 {
			c.Concurrency = DefaultOpenConcurrency
		}
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("loadgen: URL is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("loadgen: URL %q: want http://host:port/path", c.URL)
	case len(c.Bodies) == 0:
		return errors.New("loadgen: Bodies: no request bodies")
	case c.Rate < 0 || c.Rate != c.Rate || c.Rate > 1e7:
		return fmt.Errorf("loadgen: Rate %v: want 0 (closed loop) or a rate up to 1e7 requests/s", c.Rate)
	case c.Concurrency < 0 || c.Concurrency > 100000:
		return fmt.Errorf("loadgen: Concurrency %d: want 1 to 100000 (0 for the default)", c.Concurrency)
	case c.Duration < 0 || c.Warmup < 0 || c.Timeout < 0:
		return errors.New("loadgen: Duration, Warmup and Timeout must not be negative")
	}
	d := c.withDefaults()
	if d.Rate*(d.Warmup+d.Duration).Seconds() >= maxRequests {
		return fmt.Errorf("loadgen: Rate %v over %v: more than %d requests", c.Rate, d.Warmup+d.Duration, maxRequests)
	}
	return nil
}

// Result is what a run measured, over the requests of the measured period.
type Result struct {
	// URL is where the requests went and Bodies how many distinct bodies
	// were cycled.
	URL    string
	Bodies int
	// Open is true for an open loop (constant rate), false for a closed one.
	Open bool
	// Rate is the open loop's target rate; 0 for a closed loop.
	Rate float64
	// Concurrency is the closed loop's workers or the open loop's limit
	// on requests in flight.
	Concurrency int
	// Duration is the configured measured period and Elapsed the time from
	// its start to the last answer of a measured request (at least
	// Duration unless the run was cancelled).
	Duration, Elapsed time.Duration
	// Sent counts the measured requests, OK those answered 2xx and Errors
	// the others (queue timeouts included); Sent = OK + Errors.
	Sent, OK, Errors int64
	// ErrorKinds counts the errors by kind: "status NNN", KindTimeout,
	// KindConnection or KindQueueTimeout.
	ErrorKinds map[string]int64
	// ErrorExamples holds the first error message seen of each kind.
	ErrorExamples map[string]string
	// RPS is the rate of answers, OK or not: (Sent - queue timeouts) /
	// Elapsed.
	RPS float64
	// Latency is the latency of the answered requests (errors included),
	// measured from the scheduled send time in an open loop and from the
	// send in a closed loop.
	Latency Summary
	// Server summarises the latency_us the server reported in its 2xx
	// answers (Count is 0 when it reports none).
	Server Summary
	// SendLag is how late requests were sent after their scheduled time
	// and Service the latency from the actual send (open loop only):
	// Latency is about their sum, SendLag being queueing for a slot plus
	// the generator's own delay in waking up.
	SendLag, Service Summary
}

// stats is one worker's measurements.
type stats struct {
	latency, server, lag, service histogram
	sent, ok, errs                int64
	kinds                         map[string]int64
	examples                      map[string]string // the first error of each kind
	last                          time.Time         // latest answer to a measured request
	buf                           bytes.Buffer
}

func (s *stats) fail(kind, example string) {
	if s.kinds == nil {
		s.kinds, s.examples = map[string]int64{}, map[string]string{}
	}
	if s.kinds[kind] == 0 {
		s.examples[kind] = example
	}
	s.kinds[kind]++
	s.errs++
}

// run is the state shared by the workers of one run.
type run struct {
	cfg     Config
	client  *http.Client
	start   time.Time // the start of the measured period
	bodySeq atomic.Uint64
}

// Run generates load as cfg says until the measured period ends (and, for
// an open loop, the requests scheduled in it are answered) or ctx is
// done. When ctx ends the run early it returns what was measured so far
// together with ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if _, err := http.NewRequest(http.MethodPost, cfg.URL, nil); err != nil {
		return nil, fmt.Errorf("loadgen: URL: %w", err)
	}
	r := &run{cfg: cfg, client: cfg.Client}
	if r.client == nil {
		tr := &http.Transport{
			Proxy:               nil, // loopback measurements: never a proxy
			DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        cfg.Concurrency,
			MaxIdleConnsPerHost: cfg.Concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}
		defer tr.CloseIdleConnections()
		r.client = &http.Client{Transport: tr}
	}
	workers := make([]*stats, cfg.Concurrency)
	for i := range workers {
		workers[i] = &stats{}
	}
	t0 := time.Now()
	r.start = t0.Add(cfg.Warmup)
	var wg sync.WaitGroup
	if cfg.Rate > 0 {
		jobs := make(chan int64, min(int(cfg.Rate*cfg.Timeout.Seconds())+1, 1<<16))
		for _, w := range workers {
			wg.Go(func() { r.openWorker(ctx, t0, jobs, w) })
		}
		r.schedule(ctx, t0, jobs)
	} else {
		end := r.start.Add(cfg.Duration)
		for _, w := range workers {
			wg.Go(func() { r.closedWorker(ctx, end, w) })
		}
	}
	wg.Wait()

	res := &Result{URL: cfg.URL, Bodies: len(cfg.Bodies), Open: cfg.Rate > 0, Rate: cfg.Rate,
		Concurrency: cfg.Concurrency, Duration: cfg.Duration,
		ErrorKinds: map[string]int64{}, ErrorExamples: map[string]string{}}
	var lat, srv, lag, svc histogram
	var last time.Time
	for _, w := range workers {
		lat.merge(&w.latency)
		srv.merge(&w.server)
		lag.merge(&w.lag)
		svc.merge(&w.service)
		res.Sent += w.sent
		res.OK += w.ok
		res.Errors += w.errs
		for k, n := range w.kinds {
			res.ErrorKinds[k] += n
			if _, ok := res.ErrorExamples[k]; !ok {
				res.ErrorExamples[k] = w.examples[k]
			}
		}
		if w.last.After(last) {
			last = w.last
		}
	}
	res.Latency, res.Server = lat.summary(), srv.summary()
	if res.Open {
		res.SendLag, res.Service = lag.summary(), svc.summary()
	}
	res.Elapsed = max(last.Sub(r.start), 0)
	if ctx.Err() == nil {
		res.Elapsed = max(res.Elapsed, cfg.Duration)
	}
	if res.Elapsed > 0 {
		res.RPS = float64(res.Sent-res.ErrorKinds[KindQueueTimeout]) / res.Elapsed.Seconds()
	}
	return res, ctx.Err()
}

// schedule feeds the open loop's workers the index of each request when
// its time has come, then closes jobs. Request i is due at t0 + i/Rate.
func (r *run) schedule(ctx context.Context, t0 time.Time, jobs chan<- int64) {
	defer close(jobs)
	fine := newFineSleeper()
	defer fine.close()
	total := int64(r.cfg.Rate * (r.cfg.Warmup + r.cfg.Duration).Seconds())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); i < total; i++ {
		due := r.due(t0, i)
		for {
			d := time.Until(due)
			if d <= 0 {
				break
			}
			if d <= coarseWait {
				fine.sleep(d)
				continue
			}
			// Long waits (low rates) stay cancellable.
			timer.Reset(d - coarseWait/2)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case jobs <- i:
		}
	}
}

// coarseWait is the longest wait done with a fineSleeper, which cannot
// be cancelled.
const coarseWait = 5 * time.Millisecond

// due returns the scheduled time of open-loop request i.
func (r *run) due(t0 time.Time, i int64) time.Time {
	return t0.Add(time.Duration(float64(i) * float64(time.Second) / r.cfg.Rate))
}

func (r *run) openWorker(ctx context.Context, t0 time.Time, jobs <-chan int64, s *stats) {
	for i := range jobs {
		due := r.due(t0, i)
		measured := !due.Before(r.start)
		now := time.Now()
		if now.Sub(due) > r.cfg.Timeout {
			if measured {
				s.sent++
				s.fail(KindQueueTimeout, fmt.Sprintf("no free slot among %d within %v", r.cfg.Concurrency, r.cfg.Timeout))
			}
			continue
		}
		if measured {
			s.lag.record(now.Sub(due))
		}
		if done, ok := r.send(ctx, r.cfg.Bodies[i%int64(len(r.cfg.Bodies))], due, measured, s); ok {
			s.service.record(done.Sub(now))
		}
	}
}

func (r *run) closedWorker(ctx context.Context, end time.Time, s *stats) {
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		n := r.bodySeq.Add(1) - 1
		r.send(ctx, r.cfg.Bodies[n%uint64(len(r.cfg.Bodies))], now, !now.Before(r.start), s)
	}
}

// send sends one request and, when measured, records it with its latency
// from since and returns when it ended and true. An answer after ctx ended
// is not recorded.
func (r *run) send(ctx context.Context, body []byte, since time.Time, measured bool, s *stats) (time.Time, bool) {
	rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, r.cfg.URL, bytes.NewReader(body))
	if err != nil { // Run tried the URL: a programmer error
		panic(fmt.Sprintf("loadgen: building a request: %v", err))
	}
	req.Header.Set("Content-Type", r.cfg.ContentType)
	resp, err := r.client.Do(req)
	s.buf.Reset()
	if err == nil {
		// Keep the head of the answer for latency_us and error examples;
		// read the rest so the connection is reused.
		if _, err = s.buf.ReadFrom(io.LimitReader(resp.Body, maxKeep)); err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
	}
	done := time.Now()
	if !measured || ctx.Err() != nil {
		return done, false
	}
	s.sent++
	s.latency.record(done.Sub(since))
	s.last = done
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || isTimeout(err)):
		s.fail(KindTimeout, err.Error())
	case err != nil:
		s.fail(KindConnection, err.Error())
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		s.fail("status "+strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(s.buf.Bytes()[:min(s.buf.Len(), 200)])))
	default:
		s.ok++
		if us, ok := latencyUS(s.buf.Bytes()); ok {
			s.server.record(time.Duration(us) * time.Microsecond)
		}
	}
	return done, true
}

// MarshalJSON writes the result with snake-case keys, durations in seconds (duration_s,
// elapsed_s) and latencies in microseconds (see Summary.MarshalJSON).
func (r *Result) MarshalJSON() ([]byte, error) {
	mode := "closed"
	if r.Open {
		mode = "open"
	}
	return json.Marshal(struct {
		URL         string            `json:"url"`
		Bodies      int               `json:"bodies"`
		Mode        string            `json:"mode"`
		Rate        float64           `json:"rate,omitempty"`
		Concurrency int               `json:"concurrency"`
		Duration    float64           `json:"duration_s"`
		Elapsed     float64           `json:"elapsed_s"`
		Sent        int64             `json:"sent"`
		OK          int64             `json:"ok"`
		Errors      int64             `json:"errors"`
		ErrorKinds  map[string]int64  `json:"error_kinds"`
		Examples    map[string]string `json:"error_examples,omitempty"`
		RPS         float64           `json:"rps"`
		Latency     Summary           `json:"latency"`
		Server      Summary           `json:"server"`
		SendLag     *Summary          `json:"send_lag,omitempty"`
		Service     *Summary          `json:"service,omitempty"`
	}{r.URL, r.Bodies, mode, r.Rate, r.Concurrency, r.Duration.Seconds(), r.Elapsed.Seconds(), r.Sent, r.OK, r.Errors,
		r.ErrorKinds, r.ErrorExamples, math.Round(r.RPS*10) / 10, r.Latency, r.Server, openOnly(r, &r.SendLag), openOnly(r, &r.Service)})
}

func openOnly(r *Result, s *Summary) *Summary {
	if !r.Open {
		return nil
	}
	return s
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var latencyKey = []byte(`"latency_us":`)

// latencyUS finds the top-level-looking "latency_us": N of a JSON answer
// without decoding it whole (the generator must stay cheap next to the
// server it measures).
func latencyUS(body []byte) (int64, bool) {
	i := bytes.Index(body, latencyKey)
	if i < 0 {
		return 0, false
	}
	b := bytes.TrimLeft(body[i+len(latencyKey):], " \t\r\n")
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return v, err == nil
}

// Kinds returns the error kinds of r, most frequent first, then by name.
func (r *Result) Kinds() []string {
	return slices.SortedStableFunc(maps.Keys(r.ErrorKinds), func(a, b string) int {
		if c := cmp.Compare(r.ErrorKinds[b], r.ErrorKinds[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
}
