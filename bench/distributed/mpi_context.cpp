#include "bench/distributed/mpi_context.hpp"

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#ifdef SDM_WITH_MPI
#include <mpi.h>
#endif

#include "core/error.hpp"

namespace sdm::bench::distributed {

bool built_with_mpi() {
#ifdef SDM_WITH_MPI
  return true;
#else
  return false;
#endif
}

int launched_ranks() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* s = std::getenv(v)) {
      const int n = std::atoi(s);
      if (n > 0) return n;
    }
  return 1;
}

namespace {
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

#ifdef SDM_WITH_MPI
// Tests `request` until it completes, sleeping in between (see the header: no busy-polling).
void wait_lazily(MPI_Request& request) {
  int done = 0;
  for (;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}
#endif
}  // namespace

MpiContext::MpiContext() {
#ifdef SDM_WITH_MPI
  if (!launched_by_mpi()) return;
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    funneled_ = provided >= MPI_THREAD_FUNNELED;
    initialised_here_ = true;
  } else {
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    funneled_ = provided >= MPI_THREAD_FUNNELED;
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
  if (size_ > 1) {
    MPI_Request r;
    MPI_Ibarrier(MPI_COMM_WORLD, &r);
    wait_lazily(r);
  }
#endif
}

std::string MpiContext::broadcast(const std::string& text) const {
#ifdef SDM_WITH_MPI
  if (size_ > 1) {
    long long n = static_cast<long long>(text.size());
    MPI_Request r;
    MPI_Ibcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD, &r);
    wait_lazily(r);
    std::vector<char> buf(text.begin(), text.end());
    buf.resize(static_cast<std::size_t>(n));
    MPI_Ibcast(buf.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD, &r);
    wait_lazily(r);
    return std::string(buf.begin(), buf.end());
  }
#endif
  return text;
}

long long MpiContext::sum(long long value) const {
#ifdef SDM_WITH_MPI
  if (size_ > 1) {
    long long out = 0;
    MPI_Request r;
    MPI_Iallreduce(&value, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD, &r);
    wait_lazily(r);
    return out;
  }
#endif
  return value;
}

void MpiContext::send(int dest, int tag, const std::string& text) const {
#ifdef SDM_WITH_MPI
  if (size_ > 1) {
    MPI_Request r;
    MPI_Isend(text.data(), static_cast<int>(text.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD, &r);
    wait_lazily(r);
    return;
  }
#endif
  throw Error("MPI send to rank " + std::to_string(dest) + " outside an MPI job");
}

std::optional<MpiContext::Message> MpiContext::poll(int tag) const {
#ifdef SDM_WITH_MPI
  if (size_ > 1) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &flag, &st);
    if (!flag) return std::nullopt;
    int n = 0;
    MPI_Get_count(&st, MPI_CHAR, &n);
    Message m;
    m.source = st.MPI_SOURCE;
    m.text.resize(static_cast<std::size_t>(n));
    // The message has arrived (probed), so this receive completes without waiting.
    MPI_Recv(m.text.data(), n, MPI_CHAR, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return m;
  }
#endif
  return std::nullopt;
}

void MpiContext::abort(int code) const {
#ifdef SDM_WITH_MPI
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

}  // namespace sdm::bench::distributed
