// sdm: self-driving microscopy with a physics digital twin.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/commands.hpp"
#include "core/error.hpp"

namespace sdm::app {
int not_available(const char* command, const char* feature) {
  std::cerr << "sdm " << command << ": not available yet (" << feature << " has not landed in this build)\n";
  return kNotAvailable;
}
}  // namespace sdm::app

int main(int argc, char** argv) {
  using namespace sdm::app;
  CLI::App root{"sdm: self-driving microscopy engine with a physics digital twin.\n"
                "Scenarios (TOML) describe one experiment each; see scenarios/ and README.md."};
  root.require_subcommand(1);
  root.set_version_flag("--version", "sdm 0.1.0");
  Action action;
  add_film_command(root, action);
  add_run_command(root, action);
  add_bench_command(root, action);
  add_analyze_command(root, action);
  add_regress_command(root, action);
  add_serve_command(root, action);
  add_validate_command(root, action);
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = root.exit(e);
    return rc == 0 ? 0 : kBadInput;
  }
  try {
    return action ? action() : kOk;
  } catch (const sdm::Error& e) {
    std::cerr << "sdm: error: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "sdm: failed: " << e.what() << "\n";
    return kFailed;
  }
}
