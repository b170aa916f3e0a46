#include "bench/distributed/mpi_context.hpp"

#include <cstdlib>
#include <vector>

#ifdef SDM_WITH_MPI
#include <mpi.h>
#endif

namespace sdm::bench::distributed {

bool built_with_mpi() {
#ifdef SDM_WITH_MPI
  return true;
#else
  return false;
#endif
}

namespace {
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}
}  // namespace

MpiContext::MpiContext() {
#ifdef SDM_WITH_MPI
  if (!launched_by_mpi()) return;
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    MPI_Init(nullptr, nullptr);
    initialised_here_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
#endif
}

MpiContext::~MpiContext() {
#ifdef SDM_WITH_MPI
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (initialised_here_ && !finalized) MPI_Finalize();
#endif
}

MpiContext& MpiContext::instance() {
  static MpiContext ctx;
  return ctx;
}

void MpiContext::barrier() const {
#ifdef SDM_WITH_MPI
  if (size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

std::string MpiContext::broadcast(const std::string& text) const {
#ifdef SDM_WITH_MPI
  if (size_ > 1) {
    long long n = static_cast<long long>(text.size());
    MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    std::vector<char> buf(text.begin(), text.end());
    buf.resize(static_cast<std::size_t>(n));
    MPI_Bcast(buf.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
    return std::string(buf.begin(), buf.end());
  }
#endif
  return text;
}

long long MpiContext::sum(long long value) const {
#ifdef SDM_WITH_MPI
  if (size_ > 1) {
    long long out = 0;
    MPI_Allreduce(&value, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    return out;
  }
#endif
  return value;
}

}  // namespace sdm::bench::distributed
