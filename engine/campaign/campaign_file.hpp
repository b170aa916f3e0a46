#pragma once
// The campaign file, <run dir>/campaign.h5 (HDF5): the candidate grid, the survey used,
// the campaign's spec, and one row per measurement appended and flushed per step.
// Read by `sdm bench` (metrics), `sdm analyze` (dual VAE) and `sdm run --resume`.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/campaign/record.hpp"
#include "hardware/microscope.hpp"

namespace sdm::engine::campaign {

/// Everything a campaign file holds.
struct CampaignData {
  nlohmann::json spec;                  ///< campaign, strategy, dkl configs, seed, scenario text
  CandidateGrid grid;
  hardware::SurveyImage survey;         ///< the survey the candidates were cut from
  std::string survey_channel;           ///< channel the patches come from
  hardware::SurveySpec survey_request;  ///< the survey call the campaign made (resume replays it on a twin)
  core::Waveform waveform;              ///< the bias programme of every iv_sweep
  std::string backend;                  ///< Capabilities::backend ("twin", "replay", "remote:<endpoint>")
  std::string signal_name = "current";  ///< what IvCurve::current_a holds (Capabilities::signal_name)
  std::string signal_unit = "A";
  std::string status = "running";       ///< "running" (in progress or crashed) or to_string(CampaignEnd)
  std::string message;                  ///< why it stopped, when it did
  std::vector<StepRecord> steps;
  std::string campaign_id;              ///< names its requests to the instrument (journal only; "" in older journals)
  nlohmann::json end;                   ///< the last end frame of the journal (status, message, step, key_generation), or null
};

/// Reads a campaign file; throws sdm::Error naming the file and what is missing or corrupt.
/// A file whose writer died mid-step yields the steps committed before (see /steps count).
CampaignData read_campaign_file(const std::filesystem::path& file);

/// The same data from the run's step journal (<run dir>/steps.journal, step_journal.hpp), the
/// durable source campaign.h5 is rebuilt from on resume. `valid_bytes` (optional) receives the
/// length of the journal's intact prefix. Throws sdm::Error when the journal is missing or has
/// no header.
CampaignData read_campaign_journal(const std::filesystem::path& journal_file, std::uint64_t* valid_bytes = nullptr);

/// Writes campaign.h5 and appends to it, one step at a time, flushing after each.
///
/// Layout (HDF5, every dataset little-endian):
///   /                 attrs format = "sdm-campaign", format_version = 1, spec (JSON text),
///                     survey_channel, survey_request (JSON text), backend, signal_name,
///                     signal_unit, status, message
///   /grid             attrs patch_px, stride_px, image_nx, image_ny; ix_px, iy_px (int32 [m])
///   /survey           attrs nx, ny, x0_m, y0_m, dx_m, dy_m, channels (JSON list, in order);
///                     one float64 [ny][nx] dataset per channel, attr unit
///   /waveform         time_s, bias_v (float64 [points])
///   /steps            attr count (int64: rows complete; a reader ignores anything beyond);
///                     one chunked, extendible 1-D dataset per StepRecord field: step,
///                     candidate, ix_px, iy_px (int32), x/y_requested_m, x/y_reached_m, score,
///                     structural_novelty, predicted_mean, predicted_std, decision_latency_s,
///                     instrument_clock_s, wall_clock_s (float64), phase, model_json (variable
///                     strings), curve_offset (int64), curve_length (int32)
///   /steps/curves     time_s, bias_v, current_a: every curve concatenated (float64, extendible);
///                     step i's samples are [curve_offset[i], curve_offset[i] + curve_length[i])
class CampaignFileWriter {
 public:
  /// Writes `data` (header and every step in it) to `file` through a temporary file renamed
  /// over it, and keeps it open for appending. Throws sdm::Error naming the file on failure.
  CampaignFileWriter(const std::filesystem::path& file, const CampaignData& data);
  ~CampaignFileWriter();
  CampaignFileWriter(const CampaignFileWriter&) = delete;
  CampaignFileWriter& operator=(const CampaignFileWriter&) = delete;

  /// Appends one row to every /steps dataset, then the count, then H5Fflush.
  void append(const StepRecord& step);
  /// Sets the status and message attributes (and flushes).
  void set_status(const std::string& status, const std::string& message);
  /// Closes the file (also done by the destructor).
  void close();

 private:
  void create(const std::filesystem::path& file, const CampaignData& data);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sdm::engine::campaign
