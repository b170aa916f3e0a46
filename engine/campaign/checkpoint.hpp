#pragma once
// Per-step checkpoints of a campaign's strategy, <run dir>/checkpoint/:
//   step_<n>/            everything Strategy::save wrote after the n-th measurement was observed
//   current.json         {"steps": n, "folder": "step_<n>"}: the newest complete checkpoint
// A checkpoint folder is written as step_<n>.tmp and renamed when complete; current.json is
// replaced atomically (temp + rename) only then, and older folders are removed after it. A
// kill at any moment therefore leaves current.json naming a complete folder (or no
// current.json at all, before the first checkpoint).
#include <filesystem>
#include <functional>
#include <optional>

namespace sdm::engine::campaign {

struct CheckpointRef {
  int steps = 0;                    ///< measurements observed when it was written
  std::filesystem::path folder;     ///< what Strategy::load reads
};

/// Writes a checkpoint covering `steps` measurements: `save` fills the folder it is given.
void write_checkpoint(const std::filesystem::path& run_dir, int steps,
                      const std::function<void(const std::filesystem::path&)>& save);

/// The newest complete checkpoint, or nullopt when there is none (or current.json is unreadable).
std::optional<CheckpointRef> find_checkpoint(const std::filesystem::path& run_dir);

}  // namespace sdm::engine::campaign
