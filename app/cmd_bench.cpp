// sdm bench
#include <CLI/CLI.hpp>

#include "app/commands.hpp"

namespace sdm::app {

void add_bench_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("bench", "(not available yet: needs the benchmark harness)");
  cmd->allow_extras();
  cmd->callback([&action] { action = [] { return not_available("bench", "the benchmark harness"); }; });
}

}  // namespace sdm::app
