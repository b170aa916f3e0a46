#pragma once
// Which BLAS this process really runs on (looked up at run time, so it reports whatever
// library the dynamic linker chose, e.g. through the DT_RPATH set in CMakeLists.txt).
#include <string>

#include <nlohmann/json.hpp>

namespace sdm::core {

/// {"library": OpenBLAS's build string (or "unknown" when no OpenBLAS is loaded),
///  "core": the CPU kernel set it selected (e.g. "SkylakeX"), "threading": "openmp" |
///  "pthreads" | "sequential" | "unknown", "path": the shared object's file (or "unknown")}.
nlohmann::json blas_info();

}  // namespace sdm::core
