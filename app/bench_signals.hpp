#pragma once
// Ctrl-C for sdm bench / sdm regress: the first SIGINT or SIGTERM asks the running campaigns
// to checkpoint and stop (a flag the harness polls between measurements); a second one exits
// at once. The previous handlers are restored when the guard goes.
#include <atomic>
#include <csignal>
#include <unistd.h>

namespace sdm::app {

class StopOnInterrupt {
 public:
  StopOnInterrupt() {
    flag_ptr() = &flag_;
    old_int_ = std::signal(SIGINT, &StopOnInterrupt::handle);
    old_term_ = std::signal(SIGTERM, &StopOnInterrupt::handle);
  }
  ~StopOnInterrupt() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
    flag_ptr() = nullptr;
  }
  StopOnInterrupt(const StopOnInterrupt&) = delete;
  StopOnInterrupt& operator=(const StopOnInterrupt&) = delete;
  const std::atomic<bool>& flag() const { return flag_; }

 private:
  static std::atomic<bool>*& flag_ptr() {
    static std::atomic<bool>* p = nullptr;
    return p;
  }
  static void handle(int sig) {
    std::atomic<bool>* f = flag_ptr();
    if (f && !f->exchange(true)) {
      static const char msg[] = "\nsdm: stopping after the current measurements (press Ctrl-C again to abort now)\n";
      (void)!::write(2, msg, sizeof msg - 1);
      return;
    }
    ::_exit(128 + sig);
  }
  std::atomic<bool> flag_{false};
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

}  // namespace sdm::app
