// sdm run
#include <CLI/CLI.hpp>

#include "app/commands.hpp"

namespace sdm::app {

void add_run_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("run", "(not available yet: needs the campaign loop)");
  cmd->allow_extras();
  cmd->callback([&action] { action = [] { return not_available("run", "the campaign loop"); }; });
}

}  // namespace sdm::app
