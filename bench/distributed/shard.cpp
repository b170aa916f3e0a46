#include "bench/distributed/shard.hpp"

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

}  // namespace sdm::bench::distributed
