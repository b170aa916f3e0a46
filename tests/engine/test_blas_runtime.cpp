// The BLAS the engine really runs on. CMakeLists.txt points every executable at the OpenMP
// build of OpenBLAS (DT_RPATH) because the pthread build's worker threads fight libtorch's
// OpenMP pool; these tests fail if a link-flag change lets the system default slip back in,
// for our LAPACK calls or for libtorch's own matmuls.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "core/blas.hpp"
#include "engine/gp/exact_gp.hpp"

namespace gp = sdm::engine::gp;

namespace {

/// Uses BLAS from both sides (an exact GP through our LAPACK calls, a libtorch matmul) so the
/// libraries are loaded and resolved before they are inspected.
void exercise_blas() {
  gp::ExactGp g(gp::KernelKind::rbf, 1);
  g.set_hyperparameters(gp::GpHyperparameters{});
  const Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(8, 0, 1);
  g.condition(Eigen::MatrixXd(x), x);
  const auto c = torch::matmul(torch::ones({64, 64}), torch::ones({64, 64}));
  ASSERT_FLOAT_EQ(c[0][0].item<float>(), 64.0f);
}

std::string file_of(const char* symbol) {
  void* p = ::dlsym(RTLD_DEFAULT, symbol);
  Dl_info where{};
  if (!p || !::dladdr(p, &where) || !where.dli_fname) return "";
  return where.dli_fname;
}

}  // namespace

TEST(BlasRuntime, ReportsTheLoadedOpenBlas) {
  exercise_blas();
  const nlohmann::json b = sdm::core::blas_info();
  EXPECT_NE(b["library"], "unknown") << b.dump();
  EXPECT_NE(b["core"], "unknown") << b.dump();
  EXPECT_NE(b["path"], "unknown") << b.dump();
}

#ifdef SDM_EXPECT_OPENMP_BLAS
TEST(BlasRuntime, EngineAndLibtorchUseTheOpenMpBuild) {
  exercise_blas();
  const std::string dir = SDM_OPENBLAS_OPENMP_DIR;
  const nlohmann::json b = sdm::core::blas_info();
  EXPECT_EQ(b["threading"], "openmp") << b.dump();
  EXPECT_EQ(b["path"].get<std::string>().rfind(dir, 0), 0u) << b.dump();
  // The symbols libtorch and our LAPACK wrappers call resolve into that same folder.
  for (const char* symbol : {"sgemm_", "dgemm_", "dpotrf_"})
    EXPECT_EQ(file_of(symbol).rfind(dir, 0), 0u) << symbol << " resolves to '" << file_of(symbol) << "'";
}
#endif
