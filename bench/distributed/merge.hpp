#pragma once
// `sdm bench --merge <folders...>`: one summary, plots and report from the folders of shard runs
// (or any runs of one scenario that each did part of its jobs).
//
// Checks, before anything is written (sdm::Error naming the folders):
//   - every folder is an sdm bench run folder (manifest.json) and none is given twice;
//   - all were made from the same scenario text (and equal the scenario file, when one is given);
//   - no campaign is complete in more than one folder (a duplicate: merge would have to pick one;
//     the message says whether the copies' metrics agree or conflict).
// A campaign is complete when its folder holds a metrics.json that parses and names its strategy
// and seed (see open_run); half-written folders of killed processes are not.
//
// One folder: the outputs are written into it (campaigns stay where they are). Several: a new run
// folder (`run_dir`, or a fresh one under `results_root`) gets scenario.toml, a manifest listing
// the sources, and every complete campaign folder (hard links where the file system allows,
// copies otherwise), then the outputs. Either way the result is an ordinary run folder, so
// `sdm bench <scenario> --resume <it>` runs exactly the campaigns still missing.
//
// Missing campaigns are listed (log, report, manifest) with the shard that owns them when the
// sources' shards/ records agree on N, and the result has `failed` = their number.
#include <filesystem>
#include <ostream>
#include <vector>

#include "bench/runner.hpp"

namespace sdm::bench::distributed {

struct MergeOptions {
  std::vector<std::filesystem::path> sources;
  std::filesystem::path scenario_file;                ///< optional: checked against the folders' text; resolves relative data paths
  std::filesystem::path results_root = "results/runs";
  std::filesystem::path run_dir;                      ///< merged folder for several sources ("" = new under results_root)
  std::ostream* log = nullptr;
};

/// Merges (see above). r.jobs = jobs of the scenario, r.reused = complete ones found,
/// r.failed = missing ones (also in r.summary.failures).
BenchResult merge_runs(const MergeOptions& options);

}  // namespace sdm::bench::distributed
