#pragma once
// Coverage metrics of the benchmark: how much of a reference distribution the measured
// points reach.
//
// histogram_coverage: a `bins`-bin equal-width histogram of the reference sample over
// [min, max] (numpy.histogram's binning: edges lo + i·(hi − lo)/bins, the last bin closed;
// a constant sample uses [v − ½, v + ½]); the result is the fraction of the reference's
// non-empty bins that hold at least one of `hits`. Hits outside [min, max] fall in no bin.
// cluster_coverage: the fraction of k clusters with at least one visited row.
#include <vector>

namespace sdm::bench::stats {

/// Equal-width bin edges (bins + 1) and counts of `values`, numpy.histogram semantics.
struct Histogram {
  std::vector<double> edges;
  std::vector<long> counts;
  /// Bin of v, or −1 when v is outside [edges.front(), edges.back()] or NaN.
  int bin(double v) const;
};
/// Throws sdm::Error when values is empty, bins < 1 or a value is not finite.
Histogram histogram(const std::vector<double>& values, int bins = 100);

struct HistogramCoverage {
  int occupied = 0;       ///< non-empty bins of the reference
  int hit = 0;            ///< of those, bins holding at least one hit
  double fraction = 0;    ///< hit / occupied
};
/// Hits must be finite (else sdm::Error).
HistogramCoverage histogram_coverage(const std::vector<double>& reference, const std::vector<double>& hits, int bins = 100);

/// Fraction of the k clusters (labels in [0, k), one per candidate) that contain at least one of
/// the visited candidate indices (duplicates count once). Throws sdm::Error for labels or
/// indices out of range.
double cluster_coverage(const std::vector<int>& labels, int k, const std::vector<int>& visited);

}  // namespace sdm::bench::stats
