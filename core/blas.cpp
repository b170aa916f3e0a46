#include "core/blas.hpp"

#include <dlfcn.h>

namespace sdm::core {

nlohmann::json blas_info() {
  using Text = char* (*)();
  using Int = int (*)();
  const auto config = reinterpret_cast<Text>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  const auto corename = reinterpret_cast<Text>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const auto parallel = reinterpret_cast<Int>(::dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  nlohmann::json j = {{"library", "unknown"}, {"core", "unknown"}, {"threading", "unknown"}, {"path", "unknown"}};
  if (config) j["library"] = std::string(config());
  if (corename) j["core"] = std::string(corename());
  if (parallel) {
    // OpenBLAS: 0 sequential, 1 its own pthread pool, 2 OpenMP.
    const int p = parallel();
    j["threading"] = p == 0 ? "sequential" : p == 1 ? "pthreads" : p == 2 ? "openmp" : "unknown";
  }
  Dl_info where{};
  if (config && ::dladdr(reinterpret_cast<void*>(config), &where) && where.dli_fname) j["path"] = std::string(where.dli_fname);
  return j;
}

}  // namespace sdm::core
