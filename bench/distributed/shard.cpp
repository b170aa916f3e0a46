#include "bench/distributed/shard.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace sdm::bench::distributed {

Shard Shard::parse(const std::string& text) {
  const auto slash = text.find('/');
  auto bad = [&](const std::string& why) {
    return Error("--shard \"" + text + "\": " + why + "; expected K/N with whole numbers 1 <= K <= N, e.g. 2/4");
  };
  if (slash == std::string::npos) throw bad("no '/'");
  Shard s;
  try {
    std::size_t used = 0;
    s.index = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw bad("K is not a whole number");
    const std::string n = text.substr(slash + 1);
    s.count = std::stoi(n, &used);
    if (used != n.size()) throw bad("N is not a whole number");
  } catch (const std::logic_error&) {
    throw bad("not a number");
  }
  if (s.count < 1 || s.index < 1 || s.index > s.count) throw bad("out of range");
  return s;
}

JobBoard::JobBoard(std::filesystem::path claims_dir, std::string attempt) : dir_(std::move(claims_dir)), attempt_(std::move(attempt)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw Error("cannot create job-claim folder " + dir_.string() + ": " + ec.message());
}

bool JobBoard::try_claim(int job) {
  const std::filesystem::path marker = dir_ / ("job-" + std::to_string(job) + "." + attempt_);
  const int fd = ::open(marker.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  if (fd >= 0) {
    const std::string who = std::to_string(::getpid()) + "\n";
    [[maybe_unused]] ssize_t n = ::write(fd, who.data(), who.size());
    ::close(fd);
    return true;
  }
  if (errno == EEXIST) return false;
  throw Error("cannot create job-claim marker " + marker.string() + ": " + std::strerror(errno));
}

std::optional<int> JobBoard::claim_next(const std::vector<int>& pending) {
  for (int job : pending)
    if (try_claim(job)) return job;
  return std::nullopt;
}

}  // namespace sdm::bench::distributed
