#pragma once
// Which microscope the campaign talks to: the twin, a recorded dataset, or a remote instrument.
#include <string>

namespace sdm::core { class ConfigSection; }

namespace sdm::hardware {

struct BackendConfig {
  std::string kind = "twin";                        ///< twin | replay | remote
  // replay
  std::string path;                                 ///< dataset file (.h5 NSID, .npy, .npz); relative to the scenario file
  std::string format = "auto";                      ///< auto | nsid | npy | npz
  std::string image_channel = "mean";               ///< structure image: a channel name, or mean|std|min|max|range over the spectral axis
  std::string dataset;                              ///< HDF5 path of the NSID main dataset ("" = the only spectral image)
  double replay_sweep_rate_v_per_s = 1.0;           ///< pace of the recorded bias programme (time axis, instrument clock)
  std::string survey_path;                          ///< optional Igor .ibw survey image for remote campaigns
  // remote
  std::string endpoint = "tcp://127.0.0.1:5555";
  double timeout_s = 30.0;                          ///< per-request timeout (iv_sweep: plus the sweep's duration)
  double survey_timeout_s = 1800.0;                 ///< timeout of a survey request (an instrument scan takes minutes)
  std::string token;                                ///< shared secret, required for non-loopback endpoints
  // safety limits (applied to every backend)
  double max_bias_v = 10.0;
  double max_current_a = 1e-6;
  double max_sweep_rate_v_per_s = 10.0;
  std::string journal;                              ///< command journal file ("" = <run dir>/journal.log, "off" = none; relative to the run dir)
  double latency_s = 0.0;                           ///< delay injected before every call (tests of pacing and timeouts)
};

void read_config(core::ConfigSection& section, BackendConfig& config);

}  // namespace sdm::hardware
