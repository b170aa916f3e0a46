// sdm serve
#include <CLI/CLI.hpp>

#include "app/commands.hpp"

namespace sdm::app {

void add_serve_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("serve", "(not available yet: needs the remote-instrument server)");
  cmd->allow_extras();
  cmd->callback([&action] { action = [] { return not_available("serve", "the remote-instrument server"); }; });
}

}  // namespace sdm::app
