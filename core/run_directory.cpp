#include "core/run_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <H5public.h>
#include <Eigen/Core>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <opencv2/core/version.hpp>
#include <toml++/toml.h>
#include <torch/csrc/api/include/torch/version.h>

#include "core/blas.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;

namespace sdm::core {

void check_writable(const fs::path& results_root) {
  std::error_code ec;
  fs::create_directories(results_root, ec);
  if (ec) throw Error("results folder " + results_root.string() + " cannot be created: " + ec.message());
  const fs::path probe = results_root / (".sdm-write-probe-" + std::to_string(::getpid()));
  {
    std::ofstream f(probe);
    if (!f || !(f << "probe") || !f.flush()) {
      fs::remove(probe, ec);
      throw Error("results folder " + results_root.string() + " is not writable");
    }
  }
  fs::remove(probe, ec);
}

std::string Manifest::now_utc_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms));
  return buf;
}

fs::path create_run_directory(const fs::path& results_root, const std::string& scenario_name) {
  check_writable(results_root);
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  const fs::path parent = results_root / scenario_name;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error("cannot create " + parent.string() + ": " + ec.message());
  for (int suffix = 1; suffix < 10000; ++suffix) {
    const fs::path candidate = parent / (suffix == 1 ? std::string(stamp) : std::string(stamp) + "-" + std::to_string(suffix));
    // create_directory returns false when it exists: never reuse a folder.
    if (fs::create_directory(candidate, ec)) return candidate;
    if (ec) throw Error("cannot create run folder " + candidate.string() + ": " + ec.message());
  }
  throw Error("too many runs in " + parent.string() + " within one second");
}

void write_file_atomically(const fs::path& path, const std::string& text) {
  // A name of its own per writer: two processes (shards sharing a run folder) may write the same
  // file at once, and each must rename a complete file of its own.
  static std::atomic<unsigned> counter{0};
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot write " + tmp.string());
    f << text;
    f.flush();
    if (!f) throw Error("writing " + tmp.string() + " failed (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error("cannot rename " + tmp.string() + " to " + path.string() + ": " + why);
  }
}

namespace {
std::string host_name() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return host;
}
}  // namespace

RunFolderLock RunFolderLock::acquire(const fs::path& run_dir) {
  const fs::path file = run_dir / "run.lock";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(file.string() + ": cannot open the run folder's lock file (" + std::strerror(errno) + ")");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buf[512];
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) holder.assign(buf, static_cast<std::size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd);
    if (err != EWOULDBLOCK)
      throw Error(file.string() + ": cannot lock the run folder (" + std::strerror(err) + ")");
    throw Error(run_dir.string() + " is in use by another sdm process (" + (holder.empty() ? std::string("holder unknown") : holder) +
                "); one process at a time may write a run folder: wait for it to end (or stop it), then try again");
  }
  const std::string me = "pid " + std::to_string(::getpid()) + " on host " + host_name() + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    // The lock holds without the note; a refused process then cannot name us, nothing worse.
  }
  return RunFolderLock(fd);
}

RunFolderLock& RunFolderLock::operator=(RunFolderLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the flock
}

namespace {
std::string run_git_commit() {
  std::string out;
  if (FILE* p = ::popen("git -C '" SDM_SOURCE_DIR "' rev-parse HEAD 2>/dev/null", "r")) {
    char buf[128];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? std::string(SDM_GIT_COMMIT) : out;
}
}  // namespace

nlohmann::json build_info() {
  static const nlohmann::json info = [] {
    nlohmann::json j;
    j["sdm_version"] = SDM_VERSION;
    j["git_commit"] = run_git_commit();
    j["git_commit_at_build"] = SDM_GIT_COMMIT;
    j["libraries"] = {
        {"libtorch", TORCH_VERSION},
        {"opencv", CV_VERSION},
        {"hdf5", H5_VERS_INFO},
        {"eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION)},
        {"tomlplusplus", std::to_string(TOML_LIB_MAJOR) + "." + std::to_string(TOML_LIB_MINOR) + "." + std::to_string(TOML_LIB_PATCH)},
        {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." + std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." + std::to_string(NLOHMANN_JSON_VERSION_PATCH)},
        {"compiler", __VERSION__},
    };
    return j;
  }();
  return info;
}

Manifest::Manifest(std::string command, std::string scenario_name, std::string scenario_path, std::string scenario_text, std::uint64_t seed) {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  data_["command"] = std::move(command);
  data_["scenario"] = {{"name", std::move(scenario_name)}, {"path", std::move(scenario_path)}, {"text", std::move(scenario_text)}};
  data_["seed"] = seed;
  data_["build"] = build_info();
  data_["host"] = host;
  data_["blas"] = blas_info();  // run time, not build time: the library the linker chose
  data_["start_time"] = now_utc_iso8601();
  data_["end_time"] = nullptr;
  data_["status"] = "running";
  data_["extra"] = nlohmann::json::object();
}

void Manifest::finish(const std::string& status) {
  data_["end_time"] = now_utc_iso8601();
  data_["status"] = status;
}

void Manifest::write(const fs::path& run_dir) const { write_file_atomically(run_dir / "manifest.json", data_.dump(2) + "\n"); }

}  // namespace sdm::core
