// sdm analyze
#include <CLI/CLI.hpp>

#include "app/commands.hpp"

namespace sdm::app {

void add_analyze_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("analyze", "(not available yet: needs the dual-VAE analysis)");
  cmd->allow_extras();
  cmd->callback([&action] { action = [] { return not_available("analyze", "the dual-VAE analysis"); }; });
}

}  // namespace sdm::app
