#pragma once
// The one project exception type for configuration and set-up failures.
// Messages name the thing that is wrong (file, line, key, value) and what is allowed.
#include <stdexcept>
#include <string>

namespace sdm {

/// Thrown for bad configuration, missing or corrupt files and set-up failures.
/// The CLI turns it into a message on stderr and exit status 2.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace sdm
