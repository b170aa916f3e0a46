#pragma once
// Static shards of a benchmark's campaigns for batch schedulers (Slurm job arrays).
// MPI ranks share work dynamically instead (bench/distributed/mpi_bench.hpp).
#include <string>

namespace sdm::bench::distributed {

/// Shard K of N (1-based, as written on the command line: "--shard 2/4").
/// Job j belongs to shard K when j mod N == K − 1.
struct Shard {
  int index = 1;
  int count = 1;
  /// Parses "K/N" with 1 ≤ K ≤ N; throws sdm::Error naming the text and the allowed form.
  static Shard parse(const std::string& text);
  bool owns(int job) const { return job % count == index - 1; }
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
};

}  // namespace sdm::bench::distributed
