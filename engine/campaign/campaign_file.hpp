#pragma once
// The campaign file, <run dir>/campaign.h5 (HDF5): the candidate grid, the survey used,
// the campaign's spec, and one row per measurement appended and flushed per step.
// Read by `sdm bench` (metrics), `sdm analyze` (dual VAE) and `sdm run --resume`.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/campaign/record.hpp"
#include "hardware/microscope.hpp"

namespace sdm::engine::campaign {

/// Everything a campaign file holds.
struct CampaignData {
  nlohmann::json spec;                  ///< campaign, strategy, dkl configs, seed, scenario text
  CandidateGrid grid;
  hardware::SurveyImage survey;         ///< the survey the candidates were cut from
  std::string survey_channel;           ///< channel the patches come from
  std::vector<StepRecord> steps;
};

/// Reads a campaign file; throws sdm::Error naming the file and what is missing or corrupt.
CampaignData read_campaign_file(const std::filesystem::path& file);

}  // namespace sdm::engine::campaign
