#include "engine/acquisition/dkl_surrogate.hpp"

#include <chrono>
#include <cmath>

#include "core/error.hpp"
#include "engine/acquisition/scalarizer.hpp"
#include "engine/acquisition/seeds.hpp"
#include "engine/acquisition/selection.hpp"

namespace sdm::engine::acquisition {

DklSurrogate::DklSurrogate(const gp::DklConfig& config, int patch_side_px, std::uint64_t campaign_seed)
    : config_(config), side_(patch_side_px), seed_(derive_seed(campaign_seed, "dkl")) {}

DklSurrogate::~DklSurrogate() = default;

void DklSurrogate::ensure_model() {
  if (!dkl_) dkl_ = std::make_unique<gp::Dkl>(config_, side_ * side_, 1, seed_, side_);
}

bool DklSurrogate::trained() const { return dkl_ && dkl_->trained(); }

void DklSurrogate::update(const CampaignState& state, const std::vector<double>& targets) {
  const size_t n = state.measured.size();
  if (targets.size() != n)
    throw Error("DKL surrogate: " + std::to_string(targets.size()) + " targets for " + std::to_string(n) + " measurements");
  const gp::RowMatrixF& all = *state.patches;
  if (all.cols() != side_ * side_)
    throw Error("DKL surrogate: patches have " + std::to_string(all.cols()) + " pixels, expected " + std::to_string(side_ * side_));
  ensure_model();
  gp::RowMatrixF x(static_cast<Eigen::Index>(n), all.cols());
  Eigen::MatrixXd y(static_cast<Eigen::Index>(n), 1);
  for (size_t i = 0; i < n; ++i) {
    x.row(static_cast<Eigen::Index>(i)) = all.row(state.measured[i]);
    y(static_cast<Eigen::Index>(i), 0) = targets[i];
  }
  const gp::FitReport r = dkl_->fit(x, y);
  report_ = {{"n", n},
             {"steps_run", r.steps_run},
             {"initial_loss", r.initial_loss},
             {"final_loss", r.final_loss},
             {"jitter", r.jitter},
             {"fit_seconds", r.seconds},
             {"hyperparameters", r.hyperparameters}};
  const gp::Prediction p = dkl_->predict(all);
  const auto m = static_cast<size_t>(all.rows());
  mean_.resize(m);
  std_.resize(m);
  for (size_t i = 0; i < m; ++i) {
    mean_[i] = p.mean(static_cast<Eigen::Index>(i), 0);
    std_[i] = std::sqrt(std::max(0.0, p.variance(static_cast<Eigen::Index>(i), 0)));
  }
}

void DklSurrogate::save(const std::filesystem::path& dir) const {
  if (trained()) dkl_->save(dir / "dkl.bin");
}

void DklSurrogate::load(const std::filesystem::path& dir) {
  dkl_.reset();
  mean_.clear();
  std_.clear();
  report_ = nlohmann::json();
  if (!std::filesystem::exists(dir / "dkl.bin")) return;
  ensure_model();
  dkl_->load(dir / "dkl.bin");
}

ScalarTargets::ScalarTargets(const StrategyConfig& c)
    : name_(c.scalarizer), bias_v_(c.scalarizer_bias_v), onset_a_(c.onset_current_a) {
  ScalarizerSpec::from_name(name_, bias_v_, onset_a_);  // validates the name now
}

const std::vector<double>& ScalarTargets::of(const CampaignState& state) {
  if (values_.size() > state.curves.size()) values_.clear();
  const ScalarizerSpec spec = ScalarizerSpec::from_name(name_, bias_v_, onset_a_);
  for (size_t i = values_.size(); i < state.curves.size(); ++i) {
    const double v = scalarize(state.curves[i], spec);
    if (!std::isfinite(v)) throw Error("scalarizer " + name_ + " gave a non-finite value for measurement " + std::to_string(i));
    values_.push_back(v);
  }
  return values_;
}

SurrogateStrategy::SurrogateStrategy(std::string name, const StrategyContext& context)
    : name_(std::move(name)), seed_(context.seed), surrogate_(context.dkl, context.patch_side_px, context.seed) {}

Decision SurrogateStrategy::decide(const CampaignState& state) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<double> y = targets(state);
  surrogate_.update(state, y);
  const std::vector<double> s = scores(state, y);
  Decision d;
  d.candidate = argmax_unmeasured(s, state.is_measured);
  if (d.candidate >= 0) {
    const auto c = static_cast<size_t>(d.candidate);
    d.score = s[c];
    d.predicted_mean = surrogate_.mean()[c];
    d.predicted_std = surrogate_.stddev()[c];
  }
  d.model = surrogate_.report();
  d.model["target"] = target_name();
  d.model["newest_target"] = y.empty() ? 0.0 : y.back();
  d.model["seconds"] = {{"total", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  return d;
}

void SurrogateStrategy::save(const std::filesystem::path& dir) const {
  write_strategy_state(dir, {{"strategy", name_}, {"trained", surrogate_.trained()}});
  surrogate_.save(dir);
}

void SurrogateStrategy::load(const std::filesystem::path& dir) {
  read_strategy_state(dir);
  surrogate_.load(dir);
}

void standardisation(const std::vector<double>& v, double& mean, double& sd) {
  mean = 0;
  for (double x : v) mean += x;
  mean = v.empty() ? 0.0 : mean / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  sd = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
  if (!(sd > 1e-300) || !std::isfinite(sd)) sd = 1.0;
}

}  // namespace sdm::engine::acquisition
