// Package eval measures routers offline: APGR (average performance gap
// recovered, the share of the quality gap between a weak and a strong model
// that routing recovers, averaged over routing thresholds), CPT (call-
// performance threshold, the smallest share of calls sent to the strong model
// that reaches a target performance gap recovered), AUC of the quality
// predictions, cost-quality curves swept over the routing threshold, and
// bootstrap confidence intervals for each of them. It renders the results as
// self-contained HTML reports with inline SVG charts.
//
// Quality values and shares are fractions in [0, 1], costs are in USD, and
// curves are slices of points ordered by increasing cost. The metric functions
// are pure and safe for concurrent use; bootstrap resampling takes an explicit
// seed, so results are reproducible.
package eval
