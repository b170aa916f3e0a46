#pragma once
// Helpers for the hardware tests: raw file bytes, little-endian reads written here
// independently of the readers under test, and child processes (sdm serve, the Python
// bridge) whose output is read line by line.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace sdm::test {

inline std::filesystem::path shared_data(const std::string& name) { return std::filesystem::path(SDM_SHARED_DATA_DIR) / name; }
inline std::filesystem::path beps_path() { return shared_data("BEPS_PTO_50x50.h5"); }
inline std::filesystem::path ibw_path() { return shared_data("scan_0001.ibw"); }

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

inline void write_bytes(const std::filesystem::path& p, const std::string& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(b.data(), std::streamsize(b.size()));
}

inline std::uint64_t le_uint(const std::string& b, std::size_t off, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b.at(off + std::size_t(i)));
  return v;
}
inline double le_f64(const std::string& b, std::size_t off) {
  const std::uint64_t u = le_uint(b, off, 8);
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}
inline float le_f32(const std::string& b, std::size_t off) {
  const std::uint32_t u = std::uint32_t(le_uint(b, off, 4));
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// A child process with stdout+stderr on a pipe.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  /// Everything read so far.
  const std::string& output() const { return out_; }

  /// Reads until a line containing `needle` appears; returns that line, or nullopt on timeout/EOF.
  std::optional<std::string> wait_for_line(const std::string& needle, double timeout_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      std::size_t start = 0;
      for (std::size_t nl; (nl = out_.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string line = out_.substr(start, nl - start);
        if (start >= scanned_ && line.find(needle) != std::string::npos) {
          scanned_ = nl + 1;
          return line;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
      if (left <= 0 || !read_some(int(left))) return std::nullopt;
    }
  }

  void signal(int sig) {
    if (pid_ > 0 && !exited_) ::kill(pid_, sig);
  }

  /// Waits for the exit; returns the exit status (128+signal if killed), nullopt on timeout.
  std::optional<int> wait(double timeout_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (!exited_) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() > end) return std::nullopt;
      read_some(20);
    }
    while (read_some(0)) {
    }
    return status_;
  }

 private:
  bool read_some(int timeout_ms) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return timeout_ms > 0 ? true : false;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    out_.append(buf, std::size_t(n));
    return true;
  }
  pid_t pid_ = -1;
  int fd_ = -1;
  bool exited_ = false;
  int status_ = -1;
  std::string out_;
  std::size_t scanned_ = 0;
};

/// The endpoint printed in a "listening on tcp://…" line.
inline std::string endpoint_in(const std::string& line) {
  const std::size_t p = line.find("tcp://");
  if (p == std::string::npos) return "";
  std::size_t e = p;
  while (e < line.size() && line[e] != ' ') ++e;
  return line.substr(p, e - p);
}

/// A python3 that has zmq and numpy ("" when none): $SDM_PYTHON, /usr/bin/python3, python3.
inline std::string python_with_zmq() {
  std::vector<std::string> cands;
  if (const char* e = std::getenv("SDM_PYTHON")) cands.push_back(e);
  cands.push_back("/usr/bin/python3");
  cands.push_back("python3");
  for (const std::string& c : cands) {
    const std::string cmd = "'" + c + "' -c 'import zmq, numpy' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return c;
  }
  return "";
}

}  // namespace sdm::test

// ---------------------------------------------------------------- in-process servers
#include <atomic>
#include <memory>
#include <thread>

#include "hardware/remote/server.hpp"
#include "hardware/replay/dataset.hpp"
#include "hardware/replay/replay_backend.hpp"

namespace sdm::test {

/// A synthetic recorded grid: spectra[iy][ix][k] = ix + 100·iy + 0.01·k, bias −1..1 V.
inline std::shared_ptr<const hardware::replay::Dataset> synthetic_dataset(int nx, int ny, int points, int channels = 1) {
  auto d = std::make_shared<hardware::replay::Dataset>();
  d->source = "synthetic";
  d->axes = {nx, ny, 0.0, 0.0, 1e-8, 1e-8};
  d->signal_name = "current";
  d->signal_unit = "A";
  d->bias_v.resize(std::size_t(points));
  for (int k = 0; k < points; ++k) d->bias_v[std::size_t(k)] = -1.0 + 2.0 * k / (points - 1);
  d->spectra.resize(std::size_t(nx) * ny * points);
  for (int iy = 0; iy < ny; ++iy)
    for (int ix = 0; ix < nx; ++ix)
      for (int k = 0; k < points; ++k) d->spectra[(std::size_t(iy) * nx + ix) * points + k] = ix + 100.0 * iy + 0.01 * k;
  for (int c = 0; c < channels; ++c) {
    hardware::Channel ch{c == 0 ? "height" : "ch" + std::to_string(c), "m", std::vector<double>(std::size_t(nx) * ny)};
    for (std::size_t i = 0; i < ch.data.size(); ++i) ch.data[i] = 1e-9 * double(i) + c;
    d->channels.push_back(std::move(ch));
  }
  d->structure_channel = "height";
  return d;
}

/// A Server answering on its own thread until destroyed.
class ServerThread {
 public:
  ServerThread(std::unique_ptr<hardware::MicroscopeBackend> backend, hardware::remote::ServerOptions o)
      : server_(std::make_unique<hardware::remote::Server>(std::move(backend), std::move(o))) {
    thread_ = std::thread([this] { server_->serve(stop_, 0.02); });
  }
  ~ServerThread() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::string& endpoint() const { return server_->endpoint(); }
  hardware::remote::Server& server() { return *server_; }

 private:
  std::unique_ptr<hardware::remote::Server> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

inline hardware::remote::ServerOptions loopback_any_port() {
  hardware::remote::ServerOptions o;
  o.bind = "tcp://127.0.0.1:*";
  return o;
}

}  // namespace sdm::test
