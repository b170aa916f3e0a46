#include "core/config.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <toml++/toml.h>

#include "core/error.hpp"

namespace sdm::core {
namespace {

const toml::table& as_table(const void* p) { return *static_cast<const toml::table*>(p); }

std::string format_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
  }
}

std::string render(const toml::node& n) {
  std::ostringstream s;
  if (auto str = n.as_string()) {
    s << '"' << str->get() << '"';
  } else if (n.is_table()) {
    s << "{...}";
  } else {
    n.visit([&](auto&& v) { s << v; });
  }
  return s.str();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

}  // namespace

bool Range::contains(double v) const {
  if (std::isnan(v)) return false;
  if (min_open ? !(v > min) : !(v >= min)) return false;
  if (max_open ? !(v < max) : !(v <= max)) return false;
  return true;
}

std::string Range::describe() const {
  const bool lo = std::isfinite(min), hi = std::isfinite(max);
  if (lo && hi) return std::string(min_open ? "(" : "[") + format_number(min) + ", " + format_number(max) + (max_open ? ")" : "]");
  if (lo) return std::string(min_open ? "> " : ">= ") + format_number(min);
  if (hi) return std::string(max_open ? "< " : "<= ") + format_number(max);
  return "any finite number";
}

ConfigSection::ConfigSection(const void* table, std::string name, std::string file)
    : table_(table), name_(std::move(name)), file_(std::move(file)) {}
ConfigSection::~ConfigSection() = default;
ConfigSection::ConfigSection(ConfigSection&&) noexcept = default;
ConfigSection& ConfigSection::operator=(ConfigSection&&) noexcept = default;

bool ConfigSection::has(std::string_view key) const { return as_table(table_).contains(key); }

std::string ConfigSection::location(std::string_view key) const {
  const toml::table& t = as_table(table_);
  const toml::source_region* src = &t.source();
  if (!key.empty()) {
    if (const toml::node* n = t.get(key)) src = &n->source();
  }
  std::ostringstream s;
  s << file_;
  if (src->begin.line > 0) s << ':' << src->begin.line << ':' << src->begin.column;
  s << ": [" << name_ << "]";
  if (!key.empty()) s << " key '" << key << "'";
  return s.str();
}

void ConfigSection::fail(std::string_view key, const std::string& what) const {
  throw Error(location(key) + ": " + what);
}

namespace {
template <class T>
T checked_number(const ConfigSection& sec, std::string_view key, const toml::node& n, const Range& range, bool integer) {
  double v;
  if (integer) {
    auto i = n.value_exact<std::int64_t>();
    if (!i) sec.fail(key, "expected an integer, got " + type_name(n) + " " + render(n));
    v = static_cast<double>(*i);
  } else {
    if (!n.is_number()) sec.fail(key, "expected a number, got " + type_name(n) + " " + render(n));
    v = *n.value<double>();
  }
  if (!std::isfinite(v)) sec.fail(key, "value " + render(n) + " is not finite; allowed: " + range.describe());
  if (!range.contains(v)) sec.fail(key, "value " + render(n) + " is out of range; allowed: " + range.describe());
  return static_cast<T>(v);
}
}  // namespace

void ConfigSection::read(std::string_view key, double& value, Range range) {
  known_.emplace_back(key);
  if (const toml::node* n = as_table(table_).get(key)) value = checked_number<double>(*this, key, *n, range, false);
}

void ConfigSection::read(std::string_view key, int& value, Range range) {
  known_.emplace_back(key);
  Range r = range;
  r.min = std::max(r.min, double(std::numeric_limits<int>::min()));
  r.max = std::min(r.max, double(std::numeric_limits<int>::max()));
  if (const toml::node* n = as_table(table_).get(key)) value = checked_number<int>(*this, key, *n, r, true);
}

void ConfigSection::read(std::string_view key, std::int64_t& value, Range range) {
  known_.emplace_back(key);
  if (const toml::node* n = as_table(table_).get(key)) value = checked_number<std::int64_t>(*this, key, *n, range, true);
}

void ConfigSection::read(std::string_view key, std::uint64_t& value, Range range) {
  known_.emplace_back(key);
  Range r = range;
  r.min = std::max(r.min, 0.0);
  if (const toml::node* n = as_table(table_).get(key)) value = checked_number<std::uint64_t>(*this, key, *n, r, true);
}

void ConfigSection::read(std::string_view key, bool& value) {
  known_.emplace_back(key);
  if (const toml::node* n = as_table(table_).get(key)) {
    auto b = n->value_exact<bool>();
    if (!b) fail(key, "expected true or false, got " + type_name(*n) + " " + render(*n));
    value = *b;
  }
}

void ConfigSection::read(std::string_view key, std::string& value, const std::vector<std::string>& allowed) {
  known_.emplace_back(key);
  if (const toml::node* n = as_table(table_).get(key)) {
    auto s = n->value_exact<std::string>();
    if (!s) fail(key, "expected a string, got " + type_name(*n) + " " + render(*n));
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *s) == allowed.end())
      fail(key, "value \"" + *s + "\" is not allowed; allowed: " + join(allowed));
    value = *s;
  }
}

namespace {
const toml::array& require_array(const ConfigSection& sec, std::string_view key, const toml::node& n) {
  if (!n.is_array()) sec.fail(key, "expected an array, got " + type_name(n) + " " + render(n));
  return *n.as_array();
}
}  // namespace

void ConfigSection::read(std::string_view key, std::vector<double>& value, Range element_range) {
  known_.emplace_back(key);
  if (const toml::node* n = as_table(table_).get(key)) {
    std::vector<double> out;
    for (const toml::node& e : require_array(*this, key, *n)) out.push_back(checked_number<double>(*this, key, e, element_range, false));
    value = std::move(out);
  }
}

void ConfigSection::read(std::string_view key, std::vector<int>& value, Range element_range) {
  known_.emplace_back(key);
  if (const toml::node* n = as_table(table_).get(key)) {
    std::vector<int> out;
    for (const toml::node& e : require_array(*this, key, *n)) out.push_back(checked_number<int>(*this, key, e, element_range, true));
    value = std::move(out);
  }
}

void ConfigSection::read(std::string_view key, std::vector<std::string>& value, const std::vector<std::string>& allowed) {
  known_.emplace_back(key);
  if (const toml::node* n = as_table(table_).get(key)) {
    std::vector<std::string> out;
    for (const toml::node& e : require_array(*this, key, *n)) {
      auto s = e.value_exact<std::string>();
      if (!s) fail(key, "expected an array of strings, found " + type_name(e) + " " + render(e));
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *s) == allowed.end())
        fail(key, "value \"" + *s + "\" is not allowed; allowed: " + join(allowed));
      out.push_back(*s);
    }
    value = std::move(out);
  }
}

std::optional<ConfigSection> ConfigSection::subsection(std::string_view key) {
  known_.emplace_back(key);
  const toml::node* n = as_table(table_).get(key);
  if (!n) return std::nullopt;
  if (!n->is_table()) fail(key, "expected a table, got " + type_name(*n) + " " + render(*n));
  return ConfigSection(n->as_table(), name_ + "." + std::string(key), file_);
}

void ConfigSection::finish() const {
  for (auto&& [k, node] : as_table(table_)) {
    const std::string key(k.str());
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      std::vector<std::string> valid = known_;
      std::sort(valid.begin(), valid.end());
      valid.erase(std::unique(valid.begin(), valid.end()), valid.end());
      fail(key, "unknown key; valid keys in [" + name_ + "] are: " + join(valid));
    }
  }
}

}  // namespace sdm::core
