#pragma once
// What a campaign records, step by step: the contract between the campaign loop
// (writes), the benchmark harness and the dual-VAE analysis (read). Stored in the run's
// campaign.h5 (see engine/campaign/campaign_file.hpp), appended and flushed per step.
#include <string>
#include <vector>

#include "core/waveform.hpp"

namespace sdm::engine::campaign {

/// One measurement.
struct StepRecord {
  int step = 0;                   ///< 0-based measurement index
  std::string phase;              ///< "initial" or "strategy"
  int candidate = -1;             ///< index into the candidate grid
  int ix_px = 0, iy_px = 0;       ///< survey pixel at the patch centre
  double x_requested_m = 0, y_requested_m = 0;
  double x_reached_m = 0, y_reached_m = 0;
  core::IvCurve curve;            ///< raw measured sweep
  double score = 0;               ///< acquisition value of the chosen candidate
  double structural_novelty = 0;  ///< of the chosen candidate when the strategy computes it (else NaN)
  double predicted_mean = 0;      ///< model mean at the chosen candidate (else NaN)
  double predicted_std = 0;       ///< model std at the chosen candidate (else NaN)
  double decision_latency_s = 0;  ///< wall time from "measurement in" to "next location out"
  double instrument_clock_s = 0;  ///< instrument clock after this measurement
  double wall_clock_s = 0;        ///< wall time since campaign start
  std::string model_json;         ///< model hyperparameters / fit report, JSON ("" if none)
};

/// Candidate grid derived from the survey (also stored in campaign.h5).
struct CandidateGrid {
  int patch_px = 0, stride_px = 0;
  int image_nx = 0, image_ny = 0;
  std::vector<int> ix_px, iy_px;  ///< patch-centre pixel of each candidate
  size_t size() const { return ix_px.size(); }
};

}  // namespace sdm::engine::campaign
