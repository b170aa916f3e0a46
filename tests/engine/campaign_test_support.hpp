#pragma once
// A small synthetic instrument for engine tests (the engine cannot link the twin): a
// topography of a few bumps on a slope, and I–V curves that are a closed-form function of
// the position (no state besides the clock), so a resumed campaign sees the same curves.
// FlakyBackend wraps any backend and fails chosen calls, to test the retry policy.
#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/campaign/campaign.hpp"
#include "hardware/microscope.hpp"

namespace sdm::test {

struct FakeOptions {
  int n_px = 40;              ///< survey side
  double pixel_m = 25e-9;     ///< survey pixel
  double move_time_s = 1.0;   ///< instrument time per move
};

class FakeInstrument : public hardware::MicroscopeBackend {
 public:
  explicit FakeInstrument(FakeOptions o = {}) : o_(o) {}

  /// Height at a physical position: three Gaussian bumps on a gentle slope.
  double height_m(double x_m, double y_m) const {
    const double u = x_m / size_m(), v = y_m / size_m();
    const double bumps = std::exp(-((u - 0.3) * (u - 0.3) + (v - 0.3) * (v - 0.3)) / 0.01) +
                         0.6 * std::exp(-((u - 0.7) * (u - 0.7) + (v - 0.6) * (v - 0.6)) / 0.02) +
                         0.8 * std::exp(-((u - 0.2) * (u - 0.2) + (v - 0.8) * (v - 0.8)) / 0.005);
    return 1e-9 * (10 * bumps + 2 * u + std::sin(9 * u) * std::cos(7 * v));
  }
  /// Conductance-like factor: high on the first bump, an outlier spot near (0.75, 0.2).
  double conductance(double x_m, double y_m) const {
    const double u = x_m / size_m(), v = y_m / size_m();
    return 1 + 3 * std::exp(-((u - 0.3) * (u - 0.3) + (v - 0.3) * (v - 0.3)) / 0.01) +
           20 * std::exp(-((u - 0.75) * (u - 0.75) + (v - 0.2) * (v - 0.2)) / 0.003);
  }
  double size_m() const { return o_.n_px * o_.pixel_m; }

  hardware::SurveyImage survey(const hardware::SurveySpec& spec) override {
    ++surveys;
    hardware::SurveyImage img;
    img.axes = {o_.n_px, o_.n_px, 0.5 * o_.pixel_m, 0.5 * o_.pixel_m, o_.pixel_m, o_.pixel_m};
    for (const std::string& name : spec.channels) {
      hardware::Channel ch{name, name == "topography" ? "m" : "A", {}};
      for (int iy = 0; iy < o_.n_px; ++iy)
        for (int ix = 0; ix < o_.n_px; ++ix) {
          const double x = (ix + 0.5) * o_.pixel_m, y = (iy + 0.5) * o_.pixel_m;
          ch.data.push_back(name == "topography" ? height_m(x, y) : 1e-11 * conductance(x, y));
        }
      img.channels.push_back(std::move(ch));
    }
    clock_s_ += 10;
    return img;
  }
  hardware::Position move_to(double x_m, double y_m) override {
    moves.push_back({x_m, y_m});
    x_ = std::clamp(x_m, 0.0, size_m());
    y_ = std::clamp(y_m, 0.0, size_m());
    clock_s_ += o_.move_time_s;
    return {x_, y_};
  }
  core::IvCurve iv_sweep(const core::Waveform& w) override {
    ++sweeps;
    core::IvCurve c;
    c.time_s = w.time_s;
    c.bias_v = w.bias_v;
    const double g = conductance(x_, y_), h = height_m(x_, y_) * 1e9;
    for (size_t i = 0; i < w.size(); ++i) {
      const double v = w.bias_v[i];
      const bool down = i > 0 && w.bias_v[i] < w.bias_v[i - 1];
      c.current_a.push_back(1e-11 * g * v * v + (down ? 1e-12 * h * v : 0.0) + 1e-13 * std::sin(17 * x_ / size_m() + i));
    }
    clock_s_ += w.duration_s();
    return c;
  }
  hardware::MicroscopeStatus status() override {
    hardware::MicroscopeStatus s;
    s.position = {x_, y_};
    s.instrument_clock_s = clock_s_;
    return s;
  }
  hardware::Capabilities capabilities() override {
    hardware::Capabilities c;
    c.backend = "fake";
    c.x_max_m = c.y_max_m = size_m();
    c.max_bias_v = 10;
    c.max_sweep_rate_v_per_s = 10;
    c.channels = {"topography", "current"};
    return c;
  }

  int surveys = 0, sweeps = 0;
  std::vector<hardware::Position> moves;

 private:
  FakeOptions o_;
  double x_ = 0, y_ = 0, clock_s_ = 0;
};

/// Fails iv_sweep calls by number (1-based, counted over the object's life) with `code`.
class FlakyBackend : public hardware::MicroscopeBackend {
 public:
  FlakyBackend(std::shared_ptr<hardware::MicroscopeBackend> inner, std::set<int> failing_sweeps,
               hardware::StatusCode code = hardware::StatusCode::timeout)
      : inner_(std::move(inner)), failing_(std::move(failing_sweeps)), code_(code) {}
  /// Every sweep from call `first` on fails.
  static std::set<int> from(int first, int last = 100000) {
    std::set<int> s;
    for (int i = first; i <= last; ++i) s.insert(i);
    return s;
  }
  hardware::SurveyImage survey(const hardware::SurveySpec& s) override { return inner_->survey(s); }
  hardware::Position move_to(double x, double y) override { return inner_->move_to(x, y); }
  core::IvCurve iv_sweep(const core::Waveform& w) override {
    ++calls;
    if (failing_.count(calls)) throw hardware::CallError(code_, "simulated timeout of sweep call " + std::to_string(calls));
    return inner_->iv_sweep(w);
  }
  hardware::MicroscopeStatus status() override { return inner_->status(); }
  hardware::Capabilities capabilities() override { return inner_->capabilities(); }
  int calls = 0;

 private:
  std::shared_ptr<hardware::MicroscopeBackend> inner_;
  std::set<int> failing_;
  hardware::StatusCode code_;
};

/// Non-owning adaptor so one backend object can outlive (and be shared by) several Microscopes.
class Borrowed : public hardware::MicroscopeBackend {
 public:
  explicit Borrowed(hardware::MicroscopeBackend& b) : b_(b) {}
  hardware::SurveyImage survey(const hardware::SurveySpec& s) override { return b_.survey(s); }
  hardware::Position move_to(double x, double y) override { return b_.move_to(x, y); }
  core::IvCurve iv_sweep(const core::Waveform& w) override { return b_.iv_sweep(w); }
  hardware::MicroscopeStatus status() override { return b_.status(); }
  hardware::Capabilities capabilities() override { return b_.capabilities(); }

 private:
  hardware::MicroscopeBackend& b_;
};

inline hardware::Microscope microscope_on(hardware::MicroscopeBackend& b) {
  return hardware::Microscope(std::make_unique<Borrowed>(b));
}

/// A small campaign on the fake: 40 px survey, 8 px patches at stride 4 (9 × 9 = 81 candidates).
inline engine::campaign::CampaignSpec small_spec(const std::string& strategy, const std::filesystem::path& dir,
                                                 int budget = 16, std::uint64_t seed = 5) {
  engine::campaign::CampaignSpec s;
  s.campaign.budget = budget;
  s.campaign.initial_points = 5;
  s.campaign.patch_px = 8;
  s.campaign.stride_px = 4;
  s.campaign.sweep_points = 41;
  s.campaign.sweep_max_bias_v = 1.0;
  s.campaign.sweep_rate_v_per_s = 10.0;
  s.campaign.retry_delay_s = 0.0;
  s.strategy.name = s.strategy.label = strategy;
  s.strategy.forest_trees = 50;
  s.dkl.steps = 15;
  s.dkl.hidden = {16, 8};
  s.seed = seed;
  s.directory = dir;
  return s;
}

inline std::vector<int> candidates_of(const std::vector<engine::campaign::StepRecord>& steps) {
  std::vector<int> c;
  for (const auto& r : steps) c.push_back(r.candidate);
  return c;
}

}  // namespace sdm::test
