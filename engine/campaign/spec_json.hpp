#pragma once
// JSON forms of a campaign's configuration and records, as stored in the campaign file
// (spec attribute) and in the step journal. Reading tolerates missing keys (they keep the
// in-code defaults), so files written before a config gained a key still load.
#include <nlohmann/json.hpp>

#include "engine/acquisition/strategy_config.hpp"
#include "engine/campaign/campaign.hpp"
#include "engine/campaign/campaign_config.hpp"
#include "engine/campaign/record.hpp"
#include "engine/gp/dkl_config.hpp"
#include "hardware/microscope.hpp"

namespace sdm::engine::campaign {

nlohmann::json config_to_json(const CampaignConfig& c);
nlohmann::json config_to_json(const acquisition::StrategyConfig& c);
nlohmann::json config_to_json(const gp::DklConfig& c);
void config_from_json(const nlohmann::json& j, CampaignConfig& c);
void config_from_json(const nlohmann::json& j, acquisition::StrategyConfig& c);
void config_from_json(const nlohmann::json& j, gp::DklConfig& c);

/// {"campaign", "strategy", "dkl", "seed", "scenario_path", "scenario_text"} (directory is not stored).
nlohmann::json spec_to_json(const CampaignSpec& spec);
/// Throws sdm::Error (naming `origin`) when a section is missing or has the wrong type.
CampaignSpec spec_from_json(const nlohmann::json& j, const std::string& origin);

/// A step record; the curve as three binary blobs of little-endian float64 (exact), NaNs kept.
/// Meant for binary JSON (CBOR): text JSON would turn NaN into null.
nlohmann::json step_to_json(const StepRecord& r);
StepRecord step_from_json(const nlohmann::json& j);

nlohmann::json grid_to_json(const CandidateGrid& g);
CandidateGrid grid_from_json(const nlohmann::json& j);
nlohmann::json survey_to_json(const hardware::SurveyImage& s);
hardware::SurveyImage survey_from_json(const nlohmann::json& j);
nlohmann::json waveform_to_json(const core::Waveform& w);
core::Waveform waveform_from_json(const nlohmann::json& j);
nlohmann::json survey_spec_to_json(const hardware::SurveySpec& s);
hardware::SurveySpec survey_spec_from_json(const nlohmann::json& j);

/// Exact binary blob ↔ vector<double> (little-endian float64) and vector<int> (int32).
nlohmann::json blob_of(const std::vector<double>& v);
std::vector<double> doubles_of(const nlohmann::json& blob);
nlohmann::json blob_of(const std::vector<int>& v);
std::vector<int> ints_of(const nlohmann::json& blob);

}  // namespace sdm::engine::campaign
