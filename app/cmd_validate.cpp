// sdm validate: check scenario files without running anything.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/commands.hpp"
#include "bench/scenario.hpp"
#include "core/error.hpp"

namespace sdm::app {

void add_validate_command(CLI::App& root, Action& action) {
  auto* cmd = root.add_subcommand("validate", "Check scenario files: syntax, keys, types and ranges. Writes nothing.");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("scenarios", *files, "Scenario .toml files")->required();
  cmd->callback([&action, files] {
    action = [files] {
      int bad = 0;
      for (const std::string& f : *files) {
        try {
          const bench::Scenario s = bench::load_scenario(f);
          std::cout << "ok: " << f << " (scenario '" << s.name << "', " << s.strategies.size() << " strategies, backend "
                    << s.backend.kind << ")\n";
        } catch (const sdm::Error& e) {
          std::cerr << "sdm: error: " << e.what() << "\n";
          ++bad;
        }
      }
      return bad ? int(kBadInput) : int(kOk);
    };
  });
}

}  // namespace sdm::app
