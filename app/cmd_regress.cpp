// sdm regress
#include <CLI/CLI.hpp>

#include "app/commands.hpp"

namespace sdm::app {

void add_regress_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("regress", "(not available yet: needs CI regression)");
  cmd->allow_extras();
  cmd->callback([&action] { action = [] { return not_available("regress", "CI regression"); }; });
}

}  // namespace sdm::app
