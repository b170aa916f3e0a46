#pragma once
// A thin, optional MPI layer. Built with SDM_WITH_MPI it initialises MPI only when the
// process was started by mpirun/srun (so a plain `sdm bench` never pays for it); without
// MPI every call is the single-process identity.
#include <string>

namespace sdm::bench::distributed {

class MpiContext {
 public:
  /// Initialises MPI once if launched under an MPI launcher. Safe to call repeatedly.
  static MpiContext& instance();
  bool active() const { return size_ > 1; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  void barrier() const;
  /// Rank 0's `text` on every rank.
  std::string broadcast(const std::string& text) const;
  /// Sum of `value` over ranks, on every rank.
  long long sum(long long value) const;
  ~MpiContext();

 private:
  MpiContext();
  int rank_ = 0;
  int size_ = 1;
  bool initialised_here_ = false;
};

/// True when this build has MPI support.
bool built_with_mpi();

}  // namespace sdm::bench::distributed
