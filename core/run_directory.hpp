#pragma once
// Where a run's outputs go, and the manifest that makes it reproducible.
//
// Layout: <results_root>/<scenario>/<UTC timestamp>/ (a "-2", "-3"... suffix when that
// folder exists already: existing outputs are never overwritten). manifest.json records
// the scenario text, seed, git commit, library versions, host, start and end time.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace sdm::core {

/// Throws sdm::Error when `results_root` cannot be created or written (checked before any work).
void check_writable(const std::filesystem::path& results_root);

/// Creates a fresh, empty run folder and returns its path. Throws sdm::Error on failure.
std::filesystem::path create_run_directory(const std::filesystem::path& results_root, const std::string& scenario_name);

/// Writes `text` to `path` via a temporary file (named per process and call) and rename, so a
/// reader never sees a half file, and concurrent writers of one path each rename a whole one.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

/// One writer per run folder: an advisory lock (flock) on <run dir>/run.lock, held for the life
/// of the object (also across a rename of the folder). The file records the holder's pid and
/// host, so a refused process can say who has the folder.
class RunFolderLock {
 public:
  /// Takes the lock or throws sdm::Error naming the folder and the holder's pid and host.
  static RunFolderLock acquire(const std::filesystem::path& run_dir);
  RunFolderLock(RunFolderLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RunFolderLock& operator=(RunFolderLock&& o) noexcept;
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;
  ~RunFolderLock();

 private:
  explicit RunFolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// Git commit, version and library versions of this build, as JSON.
nlohmann::json build_info();

/// The provenance record of one run.
class Manifest {
 public:
  Manifest(std::string command, std::string scenario_name, std::string scenario_path, std::string scenario_text, std::uint64_t seed);
  /// Extra fields (e.g. strategies, backend) go here before writing.
  nlohmann::json& extra() { return data_["extra"]; }
  /// Marks the end time and final status ("ok", "failed: ...", "interrupted").
  void finish(const std::string& status);
  /// Sets the status without marking the end (e.g. a folder that shard runs fill).
  void set_status(const std::string& status) { data_["status"] = status; }
  void write(const std::filesystem::path& run_dir) const;
  const nlohmann::json& json() const { return data_; }
  static std::string now_utc_iso8601();

 private:
  nlohmann::json data_;
};

}  // namespace sdm::core
