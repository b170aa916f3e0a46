// One compute thread per campaign: torch's intra-op pool, OpenMP and OpenBLAS (the OpenMP build
// follows the calling thread's omp_get_max_threads()) all run single-threaded in the calling
// thread, so results do not depend on how many campaigns run side by side.
#include <ATen/Parallel.h>
#include <omp.h>

#include "bench/runner.hpp"

namespace sdm::bench {

void use_one_compute_thread() {
  at::set_num_threads(1);   // torch intra-op (also sets this thread's OpenMP team size)
  omp_set_num_threads(1);   // OpenMP and OpenBLAS-openmp in this thread
}

}  // namespace sdm::bench
