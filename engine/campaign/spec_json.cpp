#include "engine/campaign/spec_json.hpp"

#include <cstring>

#include "core/error.hpp"

namespace sdm::engine::gp {
// Every field of each config: a field missing here is not recorded, and a resumed campaign
// would silently fall back to its default (tests/engine/test_campaign.cpp round-trips them all).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DklConfig, feature_extractor, hidden, cnn_channels, latent_dim, kernel, ard, steps,
                                                learning_rate, warm_start, train_subset, early_stop_patience,
                                                early_stop_tolerance, min_noise_variance, input_normalisation, jitter,
                                                max_jitter, predict_chunk)
}
namespace sdm::engine::acquisition {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StrategyConfig, name, label, beta, xi, scalarizer, scalarizer_bias_v,
                                                onset_current_a, contamination, forest_trees, forest_subsample, ssim_window,
                                                ssim_window_px, ssim_window_sigma, spectral_normalisation, elite_fraction)
}
namespace sdm::engine::campaign {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CampaignConfig, budget, time_budget_s, initial_points, initial_design, patch_px,
                                                stride_px, survey_channel, seed, seeds, sweep_shape, sweep_max_bias_v,
                                                sweep_points, sweep_rate_v_per_s, retries, retry_delay_s)

using nlohmann::json;

json config_to_json(const CampaignConfig& c) { return json(c); }
json config_to_json(const acquisition::StrategyConfig& c) { return json(c); }
json config_to_json(const gp::DklConfig& c) { return json(c); }
void config_from_json(const json& j, CampaignConfig& c) { c = j.get<CampaignConfig>(); }
void config_from_json(const json& j, acquisition::StrategyConfig& c) { c = j.get<acquisition::StrategyConfig>(); }
void config_from_json(const json& j, gp::DklConfig& c) { c = j.get<gp::DklConfig>(); }

json spec_to_json(const CampaignSpec& s) {
  return {{"campaign", config_to_json(s.campaign)},
          {"strategy", config_to_json(s.strategy)},
          {"dkl", config_to_json(s.dkl)},
          {"seed", s.seed},
          {"scenario_path", s.scenario_path},
          {"scenario_text", s.scenario_text}};
}

CampaignSpec spec_from_json(const json& j, const std::string& origin) {
  CampaignSpec s;
  try {
    for (const char* key : {"campaign", "strategy", "dkl", "seed"})
      if (!j.contains(key)) throw Error(origin + ": campaign spec has no '" + key + "'");
    config_from_json(j.at("campaign"), s.campaign);
    config_from_json(j.at("strategy"), s.strategy);
    config_from_json(j.at("dkl"), s.dkl);
    s.seed = j.at("seed").get<std::uint64_t>();
    s.scenario_path = j.value("scenario_path", std::string());
    s.scenario_text = j.value("scenario_text", std::string());
  } catch (const json::exception& e) {
    throw Error(origin + ": campaign spec is malformed (" + e.what() + ")");
  }
  return s;
}

json blob_of(const std::vector<double>& v) {
  std::vector<std::uint8_t> b(v.size() * sizeof(double));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());  // x86-64: little-endian float64
  return json::binary(std::move(b));
}

std::vector<double> doubles_of(const json& j) {
  const auto& b = j.get_binary();
  if (b.size() % sizeof(double)) throw Error("campaign journal: a float64 blob has " + std::to_string(b.size()) + " bytes");
  std::vector<double> v(b.size() / sizeof(double));
  if (!v.empty()) std::memcpy(v.data(), b.data(), b.size());
  return v;
}

json blob_of(const std::vector<int>& v) {
  std::vector<std::uint8_t> b(v.size() * sizeof(std::int32_t));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return json::binary(std::move(b));
}

std::vector<int> ints_of(const json& j) {
  const auto& b = j.get_binary();
  if (b.size() % sizeof(std::int32_t)) throw Error("campaign journal: an int32 blob has " + std::to_string(b.size()) + " bytes");
  std::vector<int> v(b.size() / sizeof(std::int32_t));
  if (!v.empty()) std::memcpy(v.data(), b.data(), b.size());
  return v;
}

json step_to_json(const StepRecord& r) {
  return {{"step", r.step},
          {"phase", r.phase},
          {"candidate", r.candidate},
          {"ix_px", r.ix_px},
          {"iy_px", r.iy_px},
          {"x_requested_m", r.x_requested_m},
          {"y_requested_m", r.y_requested_m},
          {"x_reached_m", r.x_reached_m},
          {"y_reached_m", r.y_reached_m},
          {"time_s", blob_of(r.curve.time_s)},
          {"bias_v", blob_of(r.curve.bias_v)},
          {"current_a", blob_of(r.curve.current_a)},
          {"score", r.score},
          {"structural_novelty", r.structural_novelty},
          {"predicted_mean", r.predicted_mean},
          {"predicted_std", r.predicted_std},
          {"decision_latency_s", r.decision_latency_s},
          {"instrument_clock_s", r.instrument_clock_s},
          {"wall_clock_s", r.wall_clock_s},
          {"model_json", r.model_json}};
}

StepRecord step_from_json(const json& j) {
  StepRecord r;
  r.step = j.at("step").get<int>();
  r.phase = j.at("phase").get<std::string>();
  r.candidate = j.at("candidate").get<int>();
  r.ix_px = j.at("ix_px").get<int>();
  r.iy_px = j.at("iy_px").get<int>();
  r.x_requested_m = j.at("x_requested_m").get<double>();
  r.y_requested_m = j.at("y_requested_m").get<double>();
  r.x_reached_m = j.at("x_reached_m").get<double>();
  r.y_reached_m = j.at("y_reached_m").get<double>();
  r.curve.time_s = doubles_of(j.at("time_s"));
  r.curve.bias_v = doubles_of(j.at("bias_v"));
  r.curve.current_a = doubles_of(j.at("current_a"));
  r.score = j.at("score").get<double>();
  r.structural_novelty = j.at("structural_novelty").get<double>();
  r.predicted_mean = j.at("predicted_mean").get<double>();
  r.predicted_std = j.at("predicted_std").get<double>();
  r.decision_latency_s = j.at("decision_latency_s").get<double>();
  r.instrument_clock_s = j.at("instrument_clock_s").get<double>();
  r.wall_clock_s = j.at("wall_clock_s").get<double>();
  r.model_json = j.at("model_json").get<std::string>();
  return r;
}

json grid_to_json(const CandidateGrid& g) {
  return {{"patch_px", g.patch_px}, {"stride_px", g.stride_px}, {"image_nx", g.image_nx},
          {"image_ny", g.image_ny}, {"ix_px", blob_of(g.ix_px)},    {"iy_px", blob_of(g.iy_px)}};
}

CandidateGrid grid_from_json(const json& j) {
  CandidateGrid g;
  g.patch_px = j.at("patch_px").get<int>();
  g.stride_px = j.at("stride_px").get<int>();
  g.image_nx = j.at("image_nx").get<int>();
  g.image_ny = j.at("image_ny").get<int>();
  g.ix_px = ints_of(j.at("ix_px"));
  g.iy_px = ints_of(j.at("iy_px"));
  return g;
}

json survey_to_json(const hardware::SurveyImage& s) {
  json ch = json::array();
  for (const auto& c : s.channels) ch.push_back({{"name", c.name}, {"unit", c.unit}, {"data", blob_of(c.data)}});
  return {{"nx", s.axes.nx},     {"ny", s.axes.ny},     {"x0_m", s.axes.x0_m},  {"y0_m", s.axes.y0_m},
          {"dx_m", s.axes.dx_m}, {"dy_m", s.axes.dy_m}, {"channels", std::move(ch)}};
}

hardware::SurveyImage survey_from_json(const json& j) {
  hardware::SurveyImage s;
  s.axes.nx = j.at("nx").get<int>();
  s.axes.ny = j.at("ny").get<int>();
  s.axes.x0_m = j.at("x0_m").get<double>();
  s.axes.y0_m = j.at("y0_m").get<double>();
  s.axes.dx_m = j.at("dx_m").get<double>();
  s.axes.dy_m = j.at("dy_m").get<double>();
  for (const auto& c : j.at("channels"))
    s.channels.push_back({c.at("name").get<std::string>(), c.at("unit").get<std::string>(), doubles_of(c.at("data"))});
  return s;
}

json waveform_to_json(const core::Waveform& w) { return {{"time_s", blob_of(w.time_s)}, {"bias_v", blob_of(w.bias_v)}}; }

core::Waveform waveform_from_json(const json& j) {
  core::Waveform w;
  w.time_s = doubles_of(j.at("time_s"));
  w.bias_v = doubles_of(j.at("bias_v"));
  return w;
}

json survey_spec_to_json(const hardware::SurveySpec& s) { return {{"channels", s.channels}, {"nx", s.nx}, {"ny", s.ny}}; }

hardware::SurveySpec survey_spec_from_json(const json& j) {
  hardware::SurveySpec s;
  s.channels = j.at("channels").get<std::vector<std::string>>();
  s.nx = j.at("nx").get<int>();
  s.ny = j.at("ny").get<int>();
  return s;
}

}  // namespace sdm::engine::campaign
