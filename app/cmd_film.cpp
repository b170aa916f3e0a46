// sdm film
#include <CLI/CLI.hpp>

#include "app/commands.hpp"

namespace sdm::app {

void add_film_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("film", "(not available yet: needs the digital twin's film maps (sdm/sim))");
  cmd->allow_extras();
  cmd->callback([&action] { action = [] { return not_available("film", "the digital twin's film maps (sdm/sim)"); }; });
}

}  // namespace sdm::app
