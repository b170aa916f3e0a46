#pragma once
// The sdm binary run in the background by CLI tests that signal or kill it mid-run.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sdm::test {

/// `sdm <args...>` as a child process, stdout and stderr to `log`; killed when destroyed unfinished.
class BackgroundSdm {
 public:
  BackgroundSdm(const std::vector<std::string>& args, const std::filesystem::path& log) {
    std::vector<std::string> argv = {SDM_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    if (posix_spawn(&pid_, SDM_BINARY, &fa, nullptr, a.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  BackgroundSdm(const BackgroundSdm&) = delete;
  BackgroundSdm& operator=(const BackgroundSdm&) = delete;
  ~BackgroundSdm() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool running() {
    if (done_ || pid_ <= 0) return false;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) done_ = true;
    return !done_;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  /// Exit code (or 128 + signal).
  int wait() {
    if (!done_ && pid_ > 0) {
      ::waitpid(pid_, &status_, 0);
      done_ = true;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = 0;
};

/// Polls `cond` every 20 ms until it holds (true) or `timeout_s` passes (false).
inline bool wait_until(const std::function<bool()>& cond, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace sdm::test
