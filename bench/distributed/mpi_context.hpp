#pragma once
// A thin, optional MPI layer. Built with SDM_WITH_MPI it initialises MPI only when the
// process was started by mpirun/srun (so a plain `sdm bench` never pays for it); without
// MPI every call is the single-process identity.
//
// Waiting never spins: OpenMPI's blocking calls busy-poll a core, which on a machine whose
// cores all run campaigns would steal one from them. Every wait here is a non-blocking
// operation tested every few milliseconds with a sleep in between.
//
// Threads: MPI is initialised with MPI_THREAD_FUNNELED; only the thread that initialised it
// (the main thread) may call these functions.
#include <optional>
#include <string>

namespace sdm::bench::distributed {

class MpiContext {
 public:
  /// Initialises MPI once if launched under an MPI launcher. Safe to call repeatedly.
  static MpiContext& instance();
  bool active() const { return size_ > 1; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// True when MPI granted MPI_THREAD_FUNNELED (other threads may exist but not call MPI).
  bool threads_allowed() const { return funneled_; }
  void barrier() const;
  /// Rank 0's `text` on every rank.
  std::string broadcast(const std::string& text) const;
  /// Sum of `value` over ranks, on every rank.
  long long sum(long long value) const;

  /// A message received by poll().
  struct Message {
    int source = 0;
    std::string text;
  };
  /// Sends `text` to rank `dest` with `tag`; returns once the buffer may be reused.
  void send(int dest, int tag, const std::string& text) const;
  /// A message with `tag` from any rank if one has arrived (ordered per sender), else nullopt.
  std::optional<Message> poll(int tag) const;
  /// Ends every rank of the job with `code` (for errors that would leave the others waiting).
  [[noreturn]] void abort(int code) const;
  ~MpiContext();

 private:
  MpiContext();
  int rank_ = 0;
  int size_ = 1;
  bool funneled_ = true;
  bool initialised_here_ = false;
};

/// True when this build has MPI support.
bool built_with_mpi();

/// The number of processes the launcher (mpirun, srun) says it started, from its environment
/// (OMPI_COMM_WORLD_SIZE, PMI_SIZE); 1 when not launched by one. Lets a build without MPI refuse
/// to run N independent copies of one job.
int launched_ranks();

}  // namespace sdm::bench::distributed
