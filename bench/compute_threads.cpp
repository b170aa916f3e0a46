// One compute thread per campaign: torch's intra-op pool, OpenMP and OpenBLAS all run
// single-threaded, so results do not depend on how many campaigns run side by side (and two
// campaigns do not fight over the cores with two thread pools each).
//   torch     at::set_num_threads(1) (process-wide; also this thread's OpenMP team size)
//   OpenMP    omp_set_num_threads(1) for this thread (OpenBLAS-openmp follows it)
//   OpenBLAS  openblas_set_num_threads(1): the pthread build (Debian's default alternative) keeps
//             its own pool sized from the environment; looked up at run time so any BLAS links.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <omp.h>

#include "bench/runner.hpp"

namespace sdm::bench {

void use_one_compute_thread() {
  at::set_num_threads(1);
  omp_set_num_threads(1);
  using SetThreads = void (*)(int);
  for (const char* name : {"openblas_set_num_threads", "goto_set_num_threads"})
    if (auto f = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, name))) {
      f(1);
      break;
    }
}

}  // namespace sdm::bench
