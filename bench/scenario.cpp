#include "bench/scenario.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace sdm::bench {
namespace {

const char* const kSections[] = {"scenario", "film", "instrument", "campaign", "strategy", "dkl", "vae", "metrics", "backend"};

template <class Config>
void read_section(const toml::table& root, const char* key, const std::string& origin, Config& config) {
  const toml::node* n = root.get(key);
  if (!n) return;
  core::ConfigSection top(&root, "top level", origin);
  if (!n->is_table()) top.fail(key, std::string("expected a table [") + key + "]");
  core::ConfigSection section(n->as_table(), key, origin);
  read_config(section, config);
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << origin << ':' << e.source().begin.line << ':' << e.source().begin.column << ": malformed TOML: " << e.description();
    throw Error(s.str());
  }
  Scenario sc;
  sc.text = text;
  sc.path = origin;
  sc.name = std::filesystem::path(origin).stem().string();

  core::ConfigSection top(&root, "top level", origin);
  for (auto&& [k, node] : root) {
    const std::string key(k.str());
    bool known = false;
    for (const char* s : kSections) known |= key == s;
    if (!known)
      top.fail(key, "unknown section; valid sections are: scenario, film, instrument, campaign, strategy (as [[strategy]]), dkl, vae, metrics, backend");
  }

  if (const toml::node* n = root.get("scenario")) {
    if (!n->is_table()) top.fail("scenario", "expected a table [scenario]");
    core::ConfigSection s(n->as_table(), "scenario", origin);
    s.read("name", sc.name);
    s.read("description", sc.description);
    if (sc.name.empty() || sc.name.find_first_of("/\\ ") != std::string::npos || sc.name == "." || sc.name == "..")
      s.fail("name", "\"" + sc.name + "\" is not a valid folder name; use letters, digits, '_', '-' or '.'");
    s.finish();
  }
  read_section(root, "film", origin, sc.film);
  read_section(root, "instrument", origin, sc.instrument);
  read_section(root, "campaign", origin, sc.campaign);
  read_section(root, "dkl", origin, sc.dkl);
  read_section(root, "vae", origin, sc.vae);
  read_section(root, "metrics", origin, sc.metrics);
  read_section(root, "backend", origin, sc.backend);

  if (const toml::node* n = root.get("strategy")) {
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) top.fail("strategy", "expected [[strategy]] entries (an array of tables)");
    std::set<std::string> labels;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      core::ConfigSection s(arr->get(i)->as_table(), "strategy[" + std::to_string(i) + "]", origin);
      engine::acquisition::StrategyConfig cfg;
      read_config(s, cfg);
      if (!labels.insert(cfg.label).second)
        s.fail("label", "label \"" + cfg.label + "\" is used by two strategies; give each a distinct 'label'");
      sc.strategies.push_back(std::move(cfg));
    }
  }
  if (sc.strategies.empty()) {
    engine::acquisition::StrategyConfig dn;
    dn.name = dn.label = "dn_dkl";
    sc.strategies.push_back(dn);
  }

  // Relative data paths are relative to the scenario file, so scenarios run from any folder.
  const std::filesystem::path base = std::filesystem::path(origin).parent_path();
  for (std::string* p : {&sc.backend.path, &sc.backend.survey_path}) {
    if (!p->empty() && std::filesystem::path(*p).is_relative()) *p = (base / *p).lexically_normal().string();
  }
  return sc;
}

Scenario load_scenario(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": scenario file not found");
  if (std::filesystem::is_directory(path, ec)) throw Error(path.string() + ": is a folder, expected a scenario .toml file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path.string() + ": cannot open scenario file for reading");
  std::ostringstream buf;
  buf << f.rdbuf();
  Scenario sc = parse_scenario(buf.str(), path.string());
  sc.path = path;
  return sc;
}

}  // namespace sdm::bench
