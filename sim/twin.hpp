#pragma once
// The digital twin: one film under one simulated conductive-AFM, with every non-ideality
// of the instrument and an instrument clock.
//
//   survey    topography (tip-dilated, noisy) and a DC current map at survey_bias_v, scanned
//             line by line while the sample drifts; costs ny·survey_line_time_s.
//   move_to   travel at move_speed_m_per_s + settle_time_s; the commanded position is clamped
//             to the scan range [0, scan_size]²; the tip lands at commanded + drift offset.
//   iv_sweep  the junction model of sim/transport.hpp at the landing pixel, then the amplifier
//             (sim/amplifier.hpp); costs the waveform's duration. Non-idealities:
//             * thermal drift (sim/drift.hpp): the tip lands off target;
//             * tip wear: R_s grows by tip_wear_ohm_per_c per coulomb ever passed by the tip;
//             * sample perturbation: a sweep leaves its final ionic state at the spot (every
//               pixel within the contact radius), relaxing back to rest as exp(−Δt/tau0), and
//               adds its charge ∫|I|dt to the spot's dose, which scales the spot's bulk
//               conductance by (1 + perturbation_per_c·dose) — so measuring twice differs;
//             * amplifier noise (white + 1/f), low-pass, offset, saturation, quantisation.
// Drift during one sweep (~0.1 nm) is neglected: the landing is fixed at the sweep's start.
// The survey current map uses each pixel's rest state (a pixel dwell of ~ms does not move the
// ions) and the worn tip's series resistance, and ignores the dose left by sweeps.
// Seeds: the film uses film_seed(film, campaign_seed) = campaign_seed + film.seed; the
// instrument streams (drift, amplifier, survey noise) derive from campaign_seed. Same seeds
// and the same call sequence ⇒ bit-identical measurements.
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/waveform.hpp"
#include "sim/amplifier.hpp"
#include "sim/drift.hpp"
#include "sim/film.hpp"
#include "sim/instrument_config.hpp"

namespace sdm::sim {

/// Where one move put the tip.
struct Landing {
  Vec2 target_m;     ///< requested position
  Vec2 commanded_m;  ///< requested position clamped to the scan range: where the instrument believes it is
  Vec2 actual_m;     ///< commanded + drift: the film point under the tip (may lie outside the field; the film is periodic)
  int ix = 0, iy = 0;  ///< film pixel of actual_m
  double time_s = 0;   ///< instrument clock at arrival
};

struct SurveyData {
  int nx = 0, ny = 0;                 ///< samples per line, lines
  double dx_m = 0, dy_m = 0;          ///< sample spacing; sample (ix, iy) at ((ix + ½)·dx, (iy + ½)·dy)
  std::vector<double> topography_m;   ///< ny×nx, row-major (empty if not requested)
  std::vector<double> current_a;      ///< ny×nx at bias_v (empty if not requested)
  double bias_v = 0;                  ///< survey bias of current_a, V
  double start_s = 0, duration_s = 0; ///< instrument clock at the start, time taken
};

class Twin {
 public:
  Twin(const FilmConfig& film, const InstrumentConfig& instrument, std::uint64_t campaign_seed);
  /// A twin on an existing film (e.g. shared with ground-truth code); instrument streams from campaign_seed.
  Twin(std::shared_ptr<const Film> film, const InstrumentConfig& instrument, std::uint64_t campaign_seed);

  const Film& film() const { return *film_; }
  std::shared_ptr<const Film> shared_film() const { return film_; }
  const InstrumentConfig& instrument() const { return instrument_; }
  std::uint64_t campaign_seed() const { return seed_; }

  /// Scans nx×ny samples over the full field (nx = ny = 0: the film's native size_px; other
  /// sizes are bilinearly resampled from the native maps, periodically). Throws sdm::Error
  /// for sizes outside [2, 4096] or only one of nx/ny zero.
  SurveyData survey(int nx, int ny, bool topography = true, bool current = true);
  Landing move_to(double x_m, double y_m);
  /// Measured sweep at the tip's current landing point; time_s starts at 0 (relative to the
  /// sweep's start). Throws sdm::Error for an invalid waveform or one beyond max_bias_v / max_sweep_rate_v_per_s.
  core::IvCurve iv_sweep(const core::Waveform& waveform);
  /// Lets instrument time pass (the sample drifts, ionic states relax).
  void wait(double seconds);

  double clock_s() const { return clock_s_; }
  Vec2 position_m() const { return landing_.commanded_m; }  ///< commanded (believed) position
  Vec2 drift_offset_m() const { return drift_.offset_m(); }
  /// The film point under the tip now: commanded + current drift offset.
  Vec2 true_position_m() const;
  const Landing& last_landing() const { return landing_; }
  /// Series resistance of the tip now: film series_resistance_ohm + wear, ohm.
  double series_resistance_ohm() const;
  double tip_charge_c() const { return tip_charge_c_; }
  /// The noiseless current of the last sweep (before the amplifier) and its ionic states.
  const SweepResult& last_true_sweep() const { return last_sweep_; }
  /// The parameters a sweep at pixel (ix, iy) would use now (film + dose + tip wear).
  LocalParams effective_params(int ix, int iy) const;
  /// The ionic state a sweep at pixel (ix, iy) would start from now.
  double ion_state_at(int ix, int iy) const;
  /// Dose ∫|I|dt accumulated at pixel (ix, iy), C.
  double dose_at(int ix, int iy) const;

 private:
  struct Spot {
    double ion_state = 0;
    double time_s = 0;
    double dose_c = 0;
  };
  void advance(double seconds);
  std::shared_ptr<const Film> film_;
  InstrumentConfig instrument_;
  std::uint64_t seed_;
  Drift drift_;
  Amplifier amplifier_;
  std::mt19937_64 survey_rng_;
  double clock_s_ = 0;
  Landing landing_;
  double tip_charge_c_ = 0;
  std::unordered_map<std::size_t, Spot> spots_;
  SweepResult last_sweep_;
  int surveys_ = 0;
  std::vector<double> survey_current_cache_;
  double survey_cache_ohm_ = -1, survey_cache_bias_ = 0;
};

}  // namespace sdm::sim
