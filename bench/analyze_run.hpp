#pragma once
// The structure–property analysis of a recorded campaign (`sdm analyze <run dir>`): reads the
// run's campaign (campaign.h5, or steps.journal when that file is missing or corrupt), cuts the
// candidate patches from the recorded survey, adds the ground truth the backend has, fits the
// dual VAE on the measured (patch, curve) pairs (engine::analysis::analyze_structure_property)
// and writes figures, analysis.h5 and analysis.json into one output folder.
//
// Ground truth, by the backend that recorded the campaign:
//   twin    the film is rebuilt from the recorded scenario text and seed; the rebuilt twin must
//           reproduce the recorded survey bit for bit (else the truth is skipped with a note).
//           Motif label of every candidate = the film's label at its centre pixel's position;
//           true curves = sim::ground_truth_iv (noiseless, ionic state at rest) at a seeded
//           subset of the unmeasured candidates, for the recorded waveform.
//   replay  the recorded dataset is reloaded from the scenario's [backend]; every recorded step
//           must equal the dataset's spectrum at the pixel nearest its requested position (else
//           skipped). True curves = the recorded spectra at unmeasured candidates (pixels no
//           step measured). No motif labels.
//   other   (remote / real instrument) none: figures only.
//
// Outputs (in AnalyzeRunOptions::output, default <run dir>/analysis): the PNGs of
// bench/analysis/report.hpp, analysis.h5 (the /analysis group of write_analysis_h5 plus root
// attributes naming the run, source and truth), analysis.json (summary, options, warnings,
// build) and dual_vae.pt (the trained model, engine::vae::DualVae::load). The run's own files
// are only read, never opened for writing. The folder is assembled in a hidden sibling and
// renamed into place, so it is either the previous analysis or the complete new one; a
// previous analysis there is replaced, any other non-empty folder is refused.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/analysis/structure_property.hpp"
#include "engine/campaign/campaign_file.hpp"

namespace sdm::bench {

struct AnalyzeRunOptions {
  std::filesystem::path output;    ///< output folder; empty: <run dir>/analysis
  int epochs = -1;                 ///< ≥ 0 overrides the scenario's [vae] epochs
  std::int64_t seed = -1;          ///< ≥ 0 overrides the analysis seed (default: the campaign seed)
  int threads = -1;                ///< ≥ 0 overrides [vae] threads (0: hardware concurrency, ≤ 8)
  bool ground_truth = true;        ///< false: no truth even where the backend has it
  /// Unmeasured candidates whose true curve is computed / looked up for the im2spec error, a
  /// seeded subset when there are more (0: all of them).
  int truth_points = 2000;
  bool save_model = true;          ///< write dual_vae.pt
  /// Called when a phase starts: "read", "truth", "fit" (fit, encode, cluster, metrics: the long
  /// one), "write" (called before anything is created on disk), "done".
  std::function<void(const std::string& phase, const std::string& detail)> on_phase;
  /// Checked between phases and between output files: when set, analyze_run removes what it
  /// wrote and returns with `interrupted` (nothing of the new analysis is left behind).
  const std::atomic<bool>* stop = nullptr;
};

/// What the analysis was given: the campaign as model inputs, the configuration, and the truth.
struct RunAnalysisInputs {
  engine::analysis::AnalysisInputs inputs;
  engine::analysis::AnalysisConfig config;
  std::string backend;          ///< the campaign's recorded backend ("twin", "replay", "remote:…")
  std::string truth = "none";   ///< "twin", "replay" or "none"
  std::string truth_note;       ///< why there is no truth (or what it is)
  std::string signal_name = "current", signal_unit = "A";
  std::vector<int> excluded_steps;    ///< steps left out (a curve with non-finite samples)
  std::vector<std::string> warnings;  ///< everything the user should know, one line each
};

/// Turns a recorded campaign into analysis inputs (no file is written). `origin` names the
/// campaign in messages. Throws sdm::Error when the campaign has fewer than 2 usable
/// (patch, curve) pairs, its survey lacks the patch channel, or its spec or scenario is invalid.
/// Ground truth that cannot be rebuilt (data file gone, scenario changed) is a warning, not an error.
RunAnalysisInputs prepare_run_analysis(const engine::campaign::CampaignData& data, const AnalyzeRunOptions& options,
                                       const std::string& origin);

/// Reads the campaign of a run folder: campaign.h5, or steps.journal when campaign.h5 is
/// missing or unreadable or holds fewer steps than the journal. `source` (optional) receives
/// the file used, `note` why (and, for the journal, a torn last record that was dropped).
/// Throws sdm::Error naming both files when neither can be read.
engine::campaign::CampaignData read_run_campaign(const std::filesystem::path& run_dir, std::filesystem::path* source = nullptr,
                                                 std::string* note = nullptr);

struct AnalyzeRunSummary {
  std::filesystem::path run_dir, output, source;  ///< source: the campaign file read
  std::vector<std::filesystem::path> files;       ///< everything written (figures, analysis.h5, ...)
  nlohmann::json summary;                         ///< the content of analysis.json
  engine::analysis::AnalysisMetrics metrics;
  std::string truth = "none";
  int pairs = 0, candidates = 0, clusters = 0;
  std::vector<std::string> warnings;
  bool interrupted = false;                       ///< stopped through options.stop; nothing written
};

/// The whole `sdm analyze`: read, prepare, fit, write. Throws sdm::Error on bad input (not a
/// run folder, unreadable campaign, too few pairs, an output folder that is not an analysis's,
/// an unwritable output) before writing anything.
AnalyzeRunSummary analyze_run(const std::filesystem::path& run_dir, const AnalyzeRunOptions& options = {});

/// A few human-readable lines: pairs, clusters, metrics against truth, where the figures are.
std::string format_summary(const AnalyzeRunSummary& summary);

}  // namespace sdm::bench
