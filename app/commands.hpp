#pragma once
// Each `sdm` subcommand lives in its own app/cmd_<name>.cpp and registers itself here.
#include <functional>

namespace CLI { class App; }

namespace sdm::app {

/// What the chosen subcommand does once the command line parsed; returns the exit status.
using Action = std::function<int()>;

void add_film_command(CLI::App& root, Action& action);
void add_run_command(CLI::App& root, Action& action);
void add_bench_command(CLI::App& root, Action& action);
void add_analyze_command(CLI::App& root, Action& action);
void add_regress_command(CLI::App& root, Action& action);
void add_serve_command(CLI::App& root, Action& action);
void add_validate_command(CLI::App& root, Action& action);

/// Exit statuses shared by every subcommand.
/// kStopped: the instrument refused a call or a safety limit tripped; never retried, the
/// operator fixes the cause before `--resume` (unlike kInterrupted, which resumes as is).
enum ExitCode : int { kOk = 0, kFailed = 1, kBadInput = 2, kNotAvailable = 3, kInterrupted = 4, kStopped = 5 };

/// Prints that `command` lands with a later issue and returns kNotAvailable.
int not_available(const char* command, const char* feature);

}  // namespace sdm::app
