// Exact GP regression against independent references: a closed-form Eigen LLT
// implementation written here, central finite differences, and data drawn from a GP
// with known hyperparameters.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "core/error.hpp"
#include "engine/gp/detail/vector_exp.hpp"
#include "engine/gp/exact_gp.hpp"
#include "engine/gp/kernel.hpp"

namespace gp = sdm::engine::gp;

namespace {

Eigen::MatrixXd uniform_matrix(int rows, int cols, std::mt19937_64& rng, double lo = 0, double hi = 1) {
  std::uniform_real_distribution<double> u(lo, hi);
  Eigen::MatrixXd m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = u(rng);
  return m;
}

Eigen::VectorXd normal_vector(int n, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, 1.0);
  Eigen::VectorXd v(n);
  for (int i = 0; i < n; ++i) v(i) = g(rng);
  return v;
}

// ---- Independent reference: the kernel formulas written out, pair by pair. ----
double ref_kernel(gp::KernelKind kind, const Eigen::VectorXd& a, const Eigen::VectorXd& b,
                  const Eigen::VectorXd& ls, double s) {
  double r2 = 0;
  for (int k = 0; k < a.size(); ++k) {
    const double l = ls.size() == 1 ? ls(0) : ls(k);
    r2 += (a(k) - b(k)) * (a(k) - b(k)) / (l * l);
  }
  const double r = std::sqrt(r2);
  if (kind == gp::KernelKind::rbf) return s * std::exp(-0.5 * r2);
  return s * (1 + std::sqrt(5.0) * r + 5.0 * r2 / 3.0) * std::exp(-std::sqrt(5.0) * r);
}

Eigen::MatrixXd ref_gram(gp::KernelKind kind, const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                         const gp::GpHyperparameters& h) {
  Eigen::MatrixXd k(a.rows(), b.rows());
  for (int i = 0; i < a.rows(); ++i)
    for (int j = 0; j < b.rows(); ++j)
      k(i, j) = ref_kernel(kind, a.row(i).transpose(), b.row(j).transpose(), h.length_scale, h.output_scale);
  return k;
}

struct RefPosterior {
  Eigen::VectorXd mean, variance;
  double nll;
};

RefPosterior ref_posterior(gp::KernelKind kind, const gp::GpHyperparameters& h, const Eigen::MatrixXd& x,
                           const Eigen::VectorXd& y, const Eigen::MatrixXd& xs) {
  const int n = static_cast<int>(x.rows());
  Eigen::MatrixXd k = ref_gram(kind, x, x, h);
  k.diagonal().array() += h.noise_variance;
  const Eigen::LLT<Eigen::MatrixXd> llt(k);
  EXPECT_EQ(llt.info(), Eigen::Success);
  const Eigen::VectorXd r = y.array() - h.mean;
  const Eigen::VectorXd alpha = llt.solve(r);
  const Eigen::MatrixXd ks = ref_gram(kind, x, xs, h);  // n x m
  RefPosterior p;
  p.mean = (ks.transpose() * alpha).array() + h.mean;
  const Eigen::MatrixXd v = llt.matrixL().solve(ks);
  p.variance = Eigen::VectorXd::Constant(xs.rows(), h.output_scale) - v.colwise().squaredNorm().transpose();
  const Eigen::MatrixXd l = llt.matrixL();
  p.nll = 0.5 * r.dot(alpha) + l.diagonal().array().log().sum() + 0.5 * n * std::log(2 * M_PI);
  return p;
}

gp::GpHyperparameters make_hyper(Eigen::VectorXd ls, double s, double noise, double mean) {
  gp::GpHyperparameters h;
  h.length_scale = std::move(ls);
  h.output_scale = s;
  h.noise_variance = noise;
  h.mean = mean;
  return h;
}

struct Case {
  gp::KernelKind kind;
  bool ard;
};

class GpKernels : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(GpKernels, MeanAndVarianceEqualClosedFormEigenReference) {
  const auto [kind, ard] = GetParam();
  std::mt19937_64 rng(11);
  const int n = 60, m = 37, d = 3;
  const Eigen::MatrixXd x = uniform_matrix(n, d, rng, -1, 1);
  const Eigen::MatrixXd xs = uniform_matrix(m, d, rng, -1.5, 1.5);
  const Eigen::VectorXd y = normal_vector(n, rng) * 2.0;
  const Eigen::VectorXd ls = ard ? Eigen::VectorXd(Eigen::Vector3d(0.4, 0.9, 1.7)) : Eigen::VectorXd::Constant(1, 0.6).eval();
  const gp::GpHyperparameters h = make_hyper(ls, 1.7, 0.05, 0.3);

  gp::ExactGp model(kind, d, ard);
  model.set_hyperparameters(h);
  model.condition(x, y);
  EXPECT_EQ(model.jitter(), 0.0);
  const RefPosterior ref = ref_posterior(kind, h, x, y, xs);
  for (int chunk : {1, 7, 4096}) {
    const gp::GpPrediction p = model.predict(xs, chunk);
    ASSERT_EQ(p.mean.size(), m);
    EXPECT_DOUBLE_EQ(p.noise_variance, 0.05);
    for (int i = 0; i < m; ++i) {
      EXPECT_NEAR(p.mean(i), ref.mean(i), 1e-8) << "chunk " << chunk << " i " << i;
      EXPECT_NEAR(p.variance(i), ref.variance(i), 1e-8) << "chunk " << chunk << " i " << i;
    }
  }
  EXPECT_NEAR(model.negative_log_marginal_likelihood(), ref.nll, 1e-8 * std::abs(ref.nll));
  const gp::NllResult r = gp::negative_log_marginal_likelihood(kind, h, x, y, {}, false);
  EXPECT_NEAR(r.value, ref.nll, 1e-8 * std::abs(ref.nll));

  // The public kernel matrix against the reference Gram matrix.
  const Eigen::MatrixXd k = gp::kernel_matrix(kind, h, x, xs);
  EXPECT_LT((k - ref_gram(kind, x, xs, h)).cwiseAbs().maxCoeff(), 1e-12);
}

// Near-duplicate inputs and tiny noise: cond(K) ~ 1e8. Both implementations then carry
// errors of order cond(K) * 1e-16 relative to the output scale; 1e-6 leaves room for that.
TEST_P(GpKernels, PredictionMatchesReferenceWhenKIsIllConditioned) {
  const auto [kind, ard] = GetParam();
  std::mt19937_64 rng(21);
  const int d = 3;
  Eigen::MatrixXd x = uniform_matrix(60, d, rng, -1, 1);
  x.bottomRows(30) = x.topRows(30) + 1e-4 * uniform_matrix(30, d, rng, -1, 1);
  const Eigen::MatrixXd xs = uniform_matrix(40, d, rng, -1, 1);
  const Eigen::VectorXd y = normal_vector(60, rng);
  const Eigen::VectorXd ls = ard ? Eigen::VectorXd(Eigen::Vector3d(0.5, 0.7, 0.9)) : Eigen::VectorXd::Constant(1, 0.6).eval();
  const gp::GpHyperparameters h = make_hyper(ls, 1.0, 1e-6, 0.0);
  gp::ExactGp model(kind, d, ard);
  model.set_hyperparameters(h);
  model.condition(x, y);
  const RefPosterior ref = ref_posterior(kind, h, x, y, xs);
  const gp::GpPrediction p = model.predict(xs);
  for (int i = 0; i < xs.rows(); ++i) {
    EXPECT_NEAR(p.mean(i), ref.mean(i), 1e-6 * std::max(1.0, std::abs(ref.mean(i))));
    EXPECT_NEAR(p.variance(i), std::max(ref.variance(i), 0.0), 1e-6);
  }
}

TEST_P(GpKernels, KernelPairGradientEqualsFiniteDifferences) {
  const auto [kind, ard] = GetParam();
  std::mt19937_64 rng(5);
  const int d = 3;
  const Eigen::VectorXd ls = ard ? Eigen::VectorXd(Eigen::Vector3d(0.5, 1.1, 0.8)) : Eigen::VectorXd::Constant(1, 0.7).eval();
  gp::GpHyperparameters h = make_hyper(ls, 1.3, 0.1, 0.0);
  for (int trial = 0; trial < 5; ++trial) {
    const Eigen::VectorXd a = uniform_matrix(1, d, rng, -1, 1).row(0).transpose();
    const Eigen::VectorXd b = uniform_matrix(1, d, rng, -1, 1).row(0).transpose();
    const gp::KernelPairGradient g = gp::kernel_pair_gradient(kind, h, a, b);
    EXPECT_NEAR(g.value, ref_kernel(kind, a, b, h.length_scale, h.output_scale), 1e-14);
    const double eps = 1e-6;
    for (int k = 0; k < d; ++k) {
      Eigen::VectorXd ap = a, am = a;
      ap(k) += eps;
      am(k) -= eps;
      const double fd = (ref_kernel(kind, ap, b, h.length_scale, h.output_scale) -
                         ref_kernel(kind, am, b, h.length_scale, h.output_scale)) / (2 * eps);
      EXPECT_NEAR(g.d_a(k), fd, 1e-8);
    }
    for (int k = 0; k < h.length_scale.size(); ++k) {
      Eigen::VectorXd lp = h.length_scale, lm = h.length_scale;
      lp(k) += eps;
      lm(k) -= eps;
      const double fd = (ref_kernel(kind, a, b, lp, h.output_scale) - ref_kernel(kind, a, b, lm, h.output_scale)) /
                        (2 * eps);
      EXPECT_NEAR(g.d_length_scale(k), fd, 1e-8);
    }
    const double fd_s = (ref_kernel(kind, a, b, h.length_scale, h.output_scale + eps) -
                         ref_kernel(kind, a, b, h.length_scale, h.output_scale - eps)) / (2 * eps);
    EXPECT_NEAR(g.d_output_scale, fd_s, 1e-8);
  }
  // Coincident points: the derivative exists (zero) and is finite for both kernels.
  const Eigen::VectorXd a = Eigen::VectorXd::Constant(d, 0.2);
  const gp::KernelPairGradient g0 = gp::kernel_pair_gradient(kind, h, a, a);
  EXPECT_TRUE(g0.d_a.allFinite());
  EXPECT_NEAR(g0.d_a.norm(), 0.0, 1e-15);
}

TEST_P(GpKernels, MarginalLikelihoodGradientEqualsFiniteDifferences) {
  const auto [kind, ard] = GetParam();
  std::mt19937_64 rng(3);
  const int n = 25, d = 3;
  const Eigen::MatrixXd x = uniform_matrix(n, d, rng, -1, 1);
  const Eigen::VectorXd y = normal_vector(n, rng);
  const Eigen::VectorXd ls = ard ? Eigen::VectorXd(Eigen::Vector3d(0.5, 0.8, 1.2)) : Eigen::VectorXd::Constant(1, 0.7).eval();
  const gp::GpHyperparameters h = make_hyper(ls, 1.4, 0.08, -0.2);
  const gp::NllResult an = gp::negative_log_marginal_likelihood(kind, h, x, y, {}, true);
  // Finite differences of the independent reference NLL.
  auto nll = [&](const Eigen::MatrixXd& xx, const gp::GpHyperparameters& hh) {
    return ref_posterior(kind, hh, xx, y, xx.topRows(1)).nll;
  };
  const double eps = 1e-6;
  auto tol = [](double v) { return 1e-6 * std::max(1.0, std::abs(v)); };
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) {
      Eigen::MatrixXd xp = x, xm = x;
      xp(i, k) += eps;
      xm(i, k) -= eps;
      const double fd = (nll(xp, h) - nll(xm, h)) / (2 * eps);
      EXPECT_NEAR(an.d_inputs(i, k), fd, tol(fd)) << "x(" << i << "," << k << ")";
    }
  for (int k = 0; k < h.length_scale.size(); ++k) {
    gp::GpHyperparameters hp = h, hm = h;
    hp.length_scale(k) += eps;
    hm.length_scale(k) -= eps;
    const double fd = (nll(x, hp) - nll(x, hm)) / (2 * eps);
    EXPECT_NEAR(an.d_hyper.length_scale(k), fd, tol(fd)) << "length scale " << k;
  }
  {
    gp::GpHyperparameters hp = h, hm = h;
    hp.output_scale += eps;
    hm.output_scale -= eps;
    const double fd = (nll(x, hp) - nll(x, hm)) / (2 * eps);
    EXPECT_NEAR(an.d_hyper.output_scale, fd, tol(fd));
  }
  {
    gp::GpHyperparameters hp = h, hm = h;
    hp.noise_variance += eps;
    hm.noise_variance -= eps;
    const double fd = (nll(x, hp) - nll(x, hm)) / (2 * eps);
    EXPECT_NEAR(an.d_hyper.noise_variance, fd, tol(fd));
  }
  {
    gp::GpHyperparameters hp = h, hm = h;
    hp.mean += eps;
    hm.mean -= eps;
    const double fd = (nll(x, hp) - nll(x, hm)) / (2 * eps);
    EXPECT_NEAR(an.d_hyper.mean, fd, tol(fd));
  }
  // Chain rule to the unconstrained parameters, against finite differences in theta.
  const double floor = 1e-4;
  const Eigen::VectorXd theta = gp::to_unconstrained(h, floor);
  const Eigen::VectorXd g = gp::unconstrained_gradient(an.d_hyper, h, floor);
  for (int j = 0; j < theta.size(); ++j) {
    Eigen::VectorXd tp = theta, tm = theta;
    tp(j) += eps;
    tm(j) -= eps;
    const double fd = (nll(x, gp::from_unconstrained(tp, floor)) - nll(x, gp::from_unconstrained(tm, floor))) / (2 * eps);
    EXPECT_NEAR(g(j), fd, tol(fd)) << "theta " << j;
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, GpKernels,
                         ::testing::Values(Case{gp::KernelKind::rbf, false}, Case{gp::KernelKind::rbf, true},
                                           Case{gp::KernelKind::matern52, false},
                                           Case{gp::KernelKind::matern52, true}));

namespace {

// n points in [0,1]^d and one draw y = f + noise from a GP with hyperparameters h.
void draw_from_gp(gp::KernelKind kind, const gp::GpHyperparameters& h, int n, int d, std::uint64_t seed,
                  Eigen::MatrixXd& x, Eigen::VectorXd& y) {
  std::mt19937_64 rng(seed);
  x = uniform_matrix(n, d, rng);
  Eigen::MatrixXd k = ref_gram(kind, x, x, h);
  k.diagonal().array() += 1e-10 * h.output_scale;
  const Eigen::LLT<Eigen::MatrixXd> llt(k);
  ASSERT_EQ(llt.info(), Eigen::Success);
  const Eigen::VectorXd f = llt.matrixL() * normal_vector(n, rng);
  y = (f + std::sqrt(h.noise_variance) * normal_vector(n, rng)).array() + h.mean;
}

}  // namespace

// Maximum-likelihood estimates from n = 400 points: the sampling spread of the noise
// estimate is about sqrt(2/n) = 7 %, so +-25 % is more than three standard deviations.
// The kernels' vectorisable exp against libm on its whole range, including the ends.
TEST(VectorExp, WithinTwoUlpOfStdExpOnItsRange) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-708.0, 0.0);
  std::vector<double> xs = {0.0, -0.0, -1e-300, -1e-17, -1e-9, -0.5 * std::log(2.0), -std::log(2.0), -1.0, -20.0,
                            -707.999, -708.0};
  for (int i = 0; i < 200000; ++i) xs.push_back(u(rng));
  for (int i = 0; i < 20000; ++i) xs.push_back(-std::ldexp(1.0, -i % 60) * u(rng) / 708.0);  // near 0
  double worst = 0;
  for (double x : xs) {
    const double want = std::exp(x), got = gp::detail::exp_nonpositive(x);
    worst = std::max(worst, std::abs(got - want) / want);
  }
  EXPECT_LE(worst, 2 * std::numeric_limits<double>::epsilon()) << "max relative error " << worst;
  EXPECT_EQ(gp::detail::exp_nonpositive(0.0), 1.0);
  EXPECT_EQ(gp::detail::exp_nonpositive(-708.5), 0.0);   // documented: 0 instead of a subnormal
  EXPECT_EQ(gp::detail::exp_nonpositive(-1e6), 0.0);
}

TEST(ExactGpTraining, RecoversKnownNoiseAndLengthScale) {
  for (gp::KernelKind kind : {gp::KernelKind::rbf, gp::KernelKind::matern52}) {
    const gp::GpHyperparameters truth = make_hyper(Eigen::VectorXd::Constant(1, 0.2), 1.5, 0.04, 0.7);
    Eigen::MatrixXd x;
    Eigen::VectorXd y;
    draw_from_gp(kind, truth, 400, 2, 2024, x, y);
    gp::ExactGp model(kind, 2, false);
    gp::ExactGpTraining t;
    t.steps = 400;
    const gp::ExactGpFitReport rep = model.optimise(x, y, t);
    const gp::GpHyperparameters& h = model.hyperparameters();
    SCOPED_TRACE(gp::to_string(kind));
    EXPECT_LT(rep.final_loss, rep.initial_loss);
    EXPECT_GT(rep.steps_run, 10);
    EXPECT_NEAR(h.noise_variance, truth.noise_variance, 0.25 * truth.noise_variance);
    EXPECT_NEAR(h.length_scale(0), truth.length_scale(0), 0.25 * truth.length_scale(0));
    EXPECT_NEAR(h.output_scale, truth.output_scale, 0.6 * truth.output_scale);
    // The returned loss is the NLL per point of the standardised targets at h.
    const double y_std = std::sqrt((y.array() - y.mean()).square().sum() / (y.size() - 1));
    const double nll = ref_posterior(kind, h, x, y, x.topRows(1)).nll;
    EXPECT_NEAR(rep.final_loss, nll / 400 - std::log(y_std), 1e-9);
  }
}

TEST(ExactGpTraining, RecoversArdLengthScales) {
  const gp::GpHyperparameters truth = make_hyper(Eigen::Vector2d(0.15, 0.6), 1.0, 0.01, 0.0);
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  draw_from_gp(gp::KernelKind::matern52, truth, 400, 2, 77, x, y);
  gp::ExactGp model(gp::KernelKind::matern52, 2, true);
  gp::ExactGpTraining t;
  t.steps = 500;
  model.optimise(x, y, t);
  const gp::GpHyperparameters& h = model.hyperparameters();
  EXPECT_NEAR(h.length_scale(0), 0.15, 0.3 * 0.15);
  EXPECT_NEAR(h.length_scale(1), 0.6, 0.3 * 0.6);
  EXPECT_NEAR(h.noise_variance, 0.01, 0.3 * 0.01);
}

TEST(ExactGpNumerics, DuplicatePointsNeedJitterAndStayFinite) {
  std::mt19937_64 rng(9);
  Eigen::MatrixXd x = uniform_matrix(20, 2, rng);
  x.bottomRows(10) = x.topRows(10);  // every point twice
  const Eigen::VectorXd y = normal_vector(20, rng);
  gp::ExactGp model(gp::KernelKind::rbf, 2);
  model.set_hyperparameters(make_hyper(Eigen::VectorXd::Constant(1, 0.3), 2.0, 0.0, 0.0));  // no noise
  gp::CholeskyOptions opt;
  opt.jitter = 1e-8;
  opt.max_jitter = 1e-1;
  model.condition(x, y, opt);
  EXPECT_GT(model.jitter(), 0.0);
  EXPECT_GE(model.jitter(), 1e-8 * 2.0);
  EXPECT_LE(model.jitter(), 1e-1 * 2.0);
  const gp::GpPrediction p = model.predict(uniform_matrix(50, 2, rng));
  EXPECT_TRUE(p.mean.allFinite());
  EXPECT_TRUE(p.variance.allFinite());
  EXPECT_GE(p.variance.minCoeff(), 0.0);

  // The NLL path reports the same jitter.
  const gp::NllResult r = gp::negative_log_marginal_likelihood(gp::KernelKind::rbf, model.hyperparameters(), x, y, opt, true);
  EXPECT_DOUBLE_EQ(r.jitter, model.jitter());
  EXPECT_TRUE(r.d_inputs.allFinite());
}

TEST(ExactGpNumerics, JitterEscalatesTenfoldFromTheConfiguredStart) {
  // Rank-one matrix v v^T: not positive definite for any jitter below roundoff.
  Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(6, 1.0, 2.0);
  Eigen::MatrixXd a = v * v.transpose();
  gp::CholeskyOptions opt;
  opt.jitter = 1e-6;
  opt.max_jitter = 1.0;
  const Eigen::MatrixXd original = a;
  const double j = gp::cholesky_with_jitter(a, 1.0, opt);
  EXPECT_GE(j, 1e-6);
  // j = 1e-6 * 10^k exactly in the escalation sequence.
  const double k = std::log10(j / 1e-6);
  EXPECT_NEAR(k, std::round(k), 1e-9);
  // L L^T reproduces the jittered matrix.
  const Eigen::MatrixXd l = a.triangularView<Eigen::Lower>();
  Eigen::MatrixXd expect = original;
  expect.diagonal().array() += j;
  EXPECT_LT((l * l.transpose() - expect).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(ExactGpNumerics, NonFiniteAndBadShapesThrowSdmError) {
  gp::ExactGp model(gp::KernelKind::matern52, 2);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(3, 2);
  x(1, 1) = std::nan("");
  EXPECT_THROW(model.condition(x, Eigen::VectorXd::Zero(3)), sdm::Error);
  EXPECT_THROW(model.condition(Eigen::MatrixXd::Zero(3, 3), Eigen::VectorXd::Zero(3)), sdm::Error);
  EXPECT_THROW(model.predict(Eigen::MatrixXd::Zero(1, 2)), sdm::Error);
  EXPECT_THROW(gp::parse_kernel("laplace"), sdm::Error);
  gp::GpHyperparameters bad;
  bad.length_scale = Eigen::VectorXd::Constant(2, 1.0);  // isotropic model wants 1
  EXPECT_THROW(model.set_hyperparameters(bad), sdm::Error);
}
