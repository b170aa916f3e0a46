#pragma once
// Replay backend: plays a recorded full-grid Dataset back through the Microscope interface,
// so acquisition strategies can be compared offline on real data.
//   survey   — the dataset's images; "topography" is the structure image (the configured
//              image_channel, e.g. the mean over the spectral axis); other names are the
//              dataset's channels. nx/ny other than native resample bilinearly.
//   move_to  — snaps to the nearest grid pixel and returns its centre; positions off the
//              grid's extent (by more than half a pixel) are refused.
//   iv_sweep — the recorded spectrum of the current pixel, whatever the waveform asks:
//              bias_v is the recorded spectral axis, current_a the recorded signal (named
//              in Capabilities::signal_name/unit, e.g. "Piezoresponse" in "a.u."), time_s
//              the recorded bias programme played at the configured sweep rate
//              (Capabilities::native_waveform). The waveform must still be valid.
//   status   — the current pixel's position; the clock advances by each sweep's duration.
#include <memory>

#include "hardware/microscope.hpp"
#include "hardware/replay/dataset.hpp"

namespace sdm::hardware::replay {

struct ReplayOptions {
  double sweep_rate_v_per_s = 1.0;  ///< pace of the recorded programme, for time_s and the clock
  double move_speed_m_per_s = 0;    ///< > 0: moves cost distance / speed on the instrument clock
};

class ReplayBackend : public MicroscopeBackend {
 public:
  /// Validates the dataset (sdm::Error naming its source on failure); starts at pixel (0, 0).
  explicit ReplayBackend(std::shared_ptr<const Dataset> dataset, ReplayOptions options = {});
  SurveyImage survey(const SurveySpec& spec) override;
  Position move_to(double x_m, double y_m) override;
  core::IvCurve iv_sweep(const core::Waveform& waveform) override;
  MicroscopeStatus status() override;
  Capabilities capabilities() override;

  const Dataset& dataset() const { return *data_; }
  std::shared_ptr<const Dataset> shared_dataset() const { return data_; }
  /// Grid pixel the tip is on.
  int ix() const { return ix_; }
  int iy() const { return iy_; }

 private:
  std::shared_ptr<const Dataset> data_;
  ReplayOptions options_;
  core::Waveform native_;
  SurveyImage image_;  ///< every channel plus "topography"
  double max_abs_signal_ = 0;
  int ix_ = 0, iy_ = 0;
  double clock_s_ = 0;
  unsigned long long sweeps_ = 0;
};

}  // namespace sdm::hardware::replay
