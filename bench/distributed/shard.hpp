#pragma once
// Splitting a benchmark's campaigns across processes: static shards for batch
// schedulers (Slurm job arrays) and dynamic claiming for MPI ranks sharing a folder.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

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

/// Dynamic work sharing between processes that see one folder (MPI ranks on a cluster
/// file system, or several shells): a job is claimed by creating a marker file with
/// O_CREAT|O_EXCL, which exactly one process wins. Claims are scoped by `attempt`, so
/// a re-run after a crash (new attempt) can claim the jobs a dead process left unfinished.
class JobBoard {
 public:
  JobBoard(std::filesystem::path claims_dir, std::string attempt);
  /// True when this process now owns `job` for this attempt.
  bool try_claim(int job);
  /// First job of `pending` (in order) that this process could claim.
  std::optional<int> claim_next(const std::vector<int>& pending);

 private:
  std::filesystem::path dir_;
  std::string attempt_;
};

}  // namespace sdm::bench::distributed
