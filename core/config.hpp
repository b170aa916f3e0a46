#pragma once
// Typed, validated access to one section of a TOML scenario file.
//
// Every module owns a plain `XxxConfig` struct with in-code defaults and a
// `read_config(core::ConfigSection&, XxxConfig&)` that overrides fields present in
// the file. Reading a key records it as known; `finish()` rejects any key that was
// never read, listing the valid ones. Errors carry file:line:column, the section,
// the key, the bad value and what is allowed.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sdm::core {

/// Closed or open numeric interval used to validate a value.
struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;  ///< true: value must be > min
  bool max_open = false;  ///< true: value must be < max
  static Range closed(double lo, double hi) { return {lo, hi, false, false}; }
  static Range positive(double hi = std::numeric_limits<double>::infinity()) { return {0.0, hi, true, false}; }
  static Range non_negative(double hi = std::numeric_limits<double>::infinity()) { return {0.0, hi, false, false}; }
  bool contains(double v) const;
  std::string describe() const;
};

class ConfigSection {
 public:
  /// `node` is an opaque toml::table*; `name` is how the section is shown, e.g. "film" or "strategy[2]".
  ConfigSection(const void* table, std::string name, std::string file);
  ~ConfigSection();
  ConfigSection(ConfigSection&&) noexcept;
  ConfigSection& operator=(ConfigSection&&) noexcept;

  const std::string& name() const { return name_; }
  const std::string& file() const { return file_; }
  bool has(std::string_view key) const;

  void read(std::string_view key, double& value, Range range = {});
  void read(std::string_view key, int& value, Range range = {});
  void read(std::string_view key, std::int64_t& value, Range range = {});
  void read(std::string_view key, std::uint64_t& value, Range range = {});
  void read(std::string_view key, bool& value);
  /// `allowed` empty: any string. Otherwise the value must be one of them.
  void read(std::string_view key, std::string& value, const std::vector<std::string>& allowed = {});
  void read(std::string_view key, std::vector<double>& value, Range element_range = {});
  void read(std::string_view key, std::vector<int>& value, Range element_range = {});
  void read(std::string_view key, std::vector<std::string>& value, const std::vector<std::string>& allowed = {});

  /// A nested table, e.g. [film.transport]; nullopt when absent. Marks the key known.
  std::optional<ConfigSection> subsection(std::string_view key);

  /// Throws sdm::Error naming every key that was present but never read.
  void finish() const;

  /// Builds an error message located at `key` (or at the section when key is empty).
  [[noreturn]] void fail(std::string_view key, const std::string& what) const;

 private:
  std::string location(std::string_view key) const;
  const void* table_;
  std::string name_;
  std::string file_;
  std::vector<std::string> known_;
};

}  // namespace sdm::core
