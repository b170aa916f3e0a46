#include "engine/campaign/checkpoint.hpp"

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/run_directory.hpp"

namespace sdm::engine::campaign {

namespace {
std::string folder_name(int steps) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step_%06d", steps);
  return buf;
}
}  // namespace

void write_checkpoint(const std::filesystem::path& run_dir, int steps,
                      const std::function<void(const std::filesystem::path&)>& save) {
  namespace fs = std::filesystem;
  const fs::path root = run_dir / "checkpoint";
  const std::string name = folder_name(steps);
  const fs::path tmp = root / (name + ".tmp"), done = root / name;
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::remove_all(done, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw Error(tmp.string() + ": cannot create the checkpoint folder (" + ec.message() + ")");
  save(tmp);
  fs::rename(tmp, done, ec);
  if (ec) throw Error(done.string() + ": cannot move the checkpoint into place (" + ec.message() + ")");
  core::write_file_atomically(root / "current.json", nlohmann::json{{"steps", steps}, {"folder", name}}.dump());
  for (const auto& entry : fs::directory_iterator(root, ec)) {  // older checkpoints are no longer needed
    const std::string n = entry.path().filename().string();
    if (entry.is_directory() && n.rfind("step_", 0) == 0 && n != name) fs::remove_all(entry.path(), ec);
  }
}

std::optional<CheckpointRef> find_checkpoint(const std::filesystem::path& run_dir) {
  const std::filesystem::path root = run_dir / "checkpoint";
  std::ifstream f(root / "current.json", std::ios::binary);
  if (!f) return std::nullopt;
  try {
    const nlohmann::json j = nlohmann::json::parse(f);
    CheckpointRef r;
    r.steps = j.at("steps").get<int>();
    r.folder = root / j.at("folder").get<std::string>();
    std::error_code ec;
    if (!std::filesystem::is_directory(r.folder, ec)) return std::nullopt;
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace sdm::engine::campaign
