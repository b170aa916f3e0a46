#pragma once
// One campaign: survey → candidates → initial design → (update models → score → choose →
// move_to + iv_sweep → record) until a measurement or instrument-time budget is spent.
// The loop sees the instrument only through hardware::Microscope, so the same code runs
// on the twin, a replayed dataset and a real microscope.
//
// Every step is appended to <run dir>/campaign.h5 (see campaign_file.hpp) and flushed
// before the next decision, with a checkpoint of everything later decisions depend on
// (strategy and model state, random generator), so `resume` continues exactly where a
// crash or kill stopped it and ends with the same records as an uninterrupted run.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/acquisition/strategy_config.hpp"
#include "engine/campaign/campaign_config.hpp"
#include "engine/campaign/record.hpp"
#include "engine/gp/dkl_config.hpp"
#include "hardware/microscope.hpp"

namespace sdm::engine::campaign {

/// Everything the engine needs to run one campaign (no simulator types).
struct CampaignSpec {
  CampaignConfig campaign;
  acquisition::StrategyConfig strategy;
  gp::DklConfig dkl;
  std::uint64_t seed = 0;              ///< this campaign's seed (every random draw derives from it)
  std::filesystem::path directory;     ///< where campaign.h5 and checkpoints go (created if missing)
  std::string scenario_text;           ///< recorded in the campaign file for provenance
  std::string scenario_path;           ///< the scenario file it came from (resume rebuilds the microscope from it)
};

/// How a campaign ended. instrument_failure and interrupted are transient (resume as is);
/// safety_trip (a current limit tripped: never repeated on its own) and refused (the
/// instrument refused a call: the same call is refused again) need the operator first.
enum class CampaignEnd { completed, time_budget, instrument_failure, interrupted, safety_trip, refused };
const char* to_string(CampaignEnd end);

/// Progress after each measurement, for terminals and logs.
struct Progress {
  int step = 0, budget = 0;
  double elapsed_s = 0, eta_s = 0;            ///< wall time so far and estimated remaining
  double decision_latency_s = 0;              ///< of the last decision
  double instrument_clock_s = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

struct CampaignOutcome {
  CampaignEnd end = CampaignEnd::completed;
  std::string message;                        ///< why it stopped (and how to resume, when it can)
  std::filesystem::path file;                 ///< the campaign.h5 written
  CandidateGrid grid;
  hardware::SurveyImage survey;
  std::vector<StepRecord> steps;              ///< every recorded measurement, in order
  int resumed_from = -1;                      ///< resume_campaign: measurements already recorded when it started
};

/// The bias programme every iv_sweep of a campaign uses ([campaign] sweep_* keys).
core::Waveform campaign_waveform(const CampaignConfig& config);
/// Files of a run folder: the step journal (the durable record) and the campaign file.
std::filesystem::path journal_path(const std::filesystem::path& run_dir);
std::filesystem::path campaign_file_path(const std::filesystem::path& run_dir);

/// Runs a new campaign into spec.directory (must not already hold a campaign file).
/// `stop` (optional) is polled between steps: when set, the campaign checkpoints and
/// returns CampaignEnd::interrupted. Throws sdm::Error only for bad configuration or an
/// unusable folder; instrument failures end the campaign with a recorded outcome.
CampaignOutcome run_campaign(const CampaignSpec& spec, hardware::Microscope& microscope,
                             const ProgressCallback& progress = {}, const std::atomic<bool>* stop = nullptr);

/// Continues the campaign recorded in `directory` (its spec is read from the file) on
/// `microscope` and returns the whole outcome, earlier steps included.
CampaignOutcome resume_campaign(const std::filesystem::path& directory, hardware::Microscope& microscope,
                                const ProgressCallback& progress = {}, const std::atomic<bool>* stop = nullptr);

}  // namespace sdm::engine::campaign
