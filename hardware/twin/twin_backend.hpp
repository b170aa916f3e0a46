#pragma once
// The digital-twin backend: a sim::Twin (film + simulated cAFM) behind the Microscope
// interface, so the engine cannot tell it from a real instrument. The Twin is shared, so a
// benchmark can keep the same Twin for ground truth (sim::ground_truth_iv(twin->film(), ...)).
//
// survey: channels "topography" (m, tip-dilated with noise) and "current" (A, DC current map
//   at InstrumentConfig::survey_bias_v, default 1.0 V: interiors ~0.1 nA, junctions ~1/3 of that,
//   asymmetric boundaries near zero). nx = ny = 0 gives the film's native size_px grid; any
//   other nx×ny in [2, 4096] is bilinearly resampled over the same field (point sampling, as a
//   scan with fewer samples per line would do). Axes: x0 = dx/2, dx = scan_size/nx (likewise y).
//   Unknown channels and bad sizes are refused (CallError, StatusCode::refused).
// move_to: returns the commanded position clamped to the scan range — what a closed-loop
//   instrument reports. Thermal drift is hidden from the caller, as on a real microscope; the
//   true landing point is sim::Twin::last_landing().actual_m (set report_true_position to get it).
// iv_sweep: refused beyond InstrumentConfig::max_bias_v / max_sweep_rate_v_per_s or for an
//   invalid waveform; otherwise the measured (noisy, saturated, quantised) curve.
// status: the commanded position and the instrument clock (every move, sweep and survey costs
//   instrument time). capabilities: "twin", range [0, scan_size]², limits, channels.
#include <memory>

#include "hardware/microscope.hpp"
#include "sim/film_config.hpp"
#include "sim/instrument_config.hpp"
#include "sim/twin.hpp"

namespace sdm::hardware::twin {

struct TwinBackendOptions {
  bool report_true_position = false;  ///< move_to/status report the drifted landing point instead of the commanded one
};

class TwinBackend : public MicroscopeBackend {
 public:
  explicit TwinBackend(std::shared_ptr<sim::Twin> twin, TwinBackendOptions options = {});

  SurveyImage survey(const SurveySpec& spec) override;
  Position move_to(double x_m, double y_m) override;
  core::IvCurve iv_sweep(const core::Waveform& waveform) override;
  MicroscopeStatus status() override;
  Capabilities capabilities() override;

  sim::Twin& twin() { return *twin_; }
  const std::shared_ptr<sim::Twin>& shared_twin() const { return twin_; }

  static const std::vector<std::string>& channel_names();  ///< {"topography", "current"}

 private:
  std::shared_ptr<sim::Twin> twin_;
  TwinBackendOptions options_;
  std::string state_ = "idle";
};

/// A TwinBackend on a fresh Twin(film, instrument, campaign_seed); the film uses seed
/// campaign_seed + film.seed. Keep `backend->shared_twin()` for ground truth.
std::unique_ptr<TwinBackend> make_twin_backend(const sim::FilmConfig& film, const sim::InstrumentConfig& instrument,
                                               std::uint64_t campaign_seed, TwinBackendOptions options = {});

}  // namespace sdm::hardware::twin
