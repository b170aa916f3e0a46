#pragma once
// What the model-based strategies share: a deep-kernel-learning surrogate (gp/dkl.hpp) from
// a candidate's patch to one scalar target, trained on the measured candidates and evaluated
// on every candidate. μ and σ are the posterior mean and standard deviation of the latent
// function (noise-free, as gpax's acquisition functions use by default) in the target's own
// units: the Dkl standardises targets internally and undoes it in predict().
//
// Seeds: the network is initialised from derive_seed(campaign seed, "dkl"). State for resume:
// the Dkl's full state (weights, hyperparameters, Adam moments, training data) via Dkl::save,
// so a warm-started fit after a resume continues exactly as it would have.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/acquisition/strategy.hpp"
#include "engine/gp/dkl.hpp"

namespace sdm::engine::acquisition {

class DklSurrogate {
 public:
  DklSurrogate(const gp::DklConfig& config, int patch_side_px, std::uint64_t campaign_seed);
  ~DklSurrogate();

  /// Fits on (patch of state.measured[i], targets[i]) for every measured i, then predicts every
  /// candidate. Throws sdm::Error when targets and measurements differ in number.
  void update(const CampaignState& state, const std::vector<double>& targets);

  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& stddev() const { return std_; }
  /// The last fit: steps, losses, jitter, seconds and per-head hyperparameters (FitReport).
  const nlohmann::json& report() const { return report_; }
  bool trained() const;

  /// <dir>/dkl.bin when trained (nothing otherwise).
  void save(const std::filesystem::path& dir) const;
  void load(const std::filesystem::path& dir);

 private:
  void ensure_model();
  gp::DklConfig config_;
  int side_;
  std::uint64_t seed_;
  std::unique_ptr<gp::Dkl> dkl_;
  std::vector<double> mean_, std_;
  nlohmann::json report_;
};

/// Targets of the scalarizer strategies: scalarize(curve, spec) of every measured curve,
/// computed once per curve (curves never change).
class ScalarTargets {
 public:
  explicit ScalarTargets(const StrategyConfig& config);
  const std::vector<double>& of(const CampaignState& state);
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  double bias_v_, onset_a_;
  std::vector<double> values_;
};

/// Base of the strategies that model one scalar per measured curve with a DklSurrogate and
/// score every candidate from its posterior (μ, σ): decide() = targets → fit + predict →
/// scores → argmax over the unmeasured candidates (ties: lowest index). Resume state: the Dkl.
class SurrogateStrategy : public Strategy {
 public:
  SurrogateStrategy(std::string name, const StrategyContext& context);
  Decision decide(const CampaignState& state) final;
  void save(const std::filesystem::path& directory) const override;
  void load(const std::filesystem::path& directory) override;
  const DklSurrogate& surrogate() const { return surrogate_; }

 protected:
  /// One target per measured curve, in measurement order.
  virtual std::vector<double> targets(const CampaignState& state) = 0;
  /// One score per candidate (measured ones are skipped by the caller) from surrogate().
  virtual std::vector<double> scores(const CampaignState& state, const std::vector<double>& targets) = 0;
  /// What the model JSON says the target is.
  virtual std::string target_name() const = 0;

  std::string name_;
  std::uint64_t seed_;
  DklSurrogate surrogate_;
};

/// Mean and (sample, n − 1) standard deviation of `v`; sd = 1 when v has < 2 values or no spread.
void standardisation(const std::vector<double>& v, double& mean, double& sd);

}  // namespace sdm::engine::acquisition
