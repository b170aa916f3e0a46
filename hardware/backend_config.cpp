#include "hardware/backend_config.hpp"

#include "core/config.hpp"
#include "hardware/remote/protocol.hpp"

namespace sdm::hardware {

void read_config(core::ConfigSection& s, BackendConfig& c) {
  using core::Range;
  s.read("kind", c.kind, {"twin", "replay", "remote"});
  s.read("path", c.path);
  s.read("format", c.format, {"auto", "nsid", "npy", "npz"});
  s.read("image_channel", c.image_channel);
  s.read("dataset", c.dataset);
  s.read("replay_sweep_rate_v_per_s", c.replay_sweep_rate_v_per_s, Range{0.0, 1e6, true, false});
  s.read("survey_path", c.survey_path);
  s.read("endpoint", c.endpoint);
  s.read("timeout_s", c.timeout_s, Range{0.0, 3600.0, true, false});
  s.read("survey_timeout_s", c.survey_timeout_s, Range{0.0, 86400.0, true, false});
  s.read("token", c.token);
  s.read("max_bias_v", c.max_bias_v, Range{0.0, 200.0, true, false});
  s.read("max_current_a", c.max_current_a, Range{0.0, 1.0, true, false});
  s.read("max_sweep_rate_v_per_s", c.max_sweep_rate_v_per_s, Range{0.0, 1e4, true, false});
  s.read("journal", c.journal);
  s.read("latency_s", c.latency_s, Range{0.0, 3600.0, false, false});
  if (c.kind == "replay" && c.path.empty()) s.fail("path", "kind = \"replay\" needs 'path' to a recorded dataset (.h5, .npy or .npz)");
  if (c.kind == "remote" && c.endpoint.empty()) s.fail("endpoint", "kind = \"remote\" needs an endpoint such as \"tcp://127.0.0.1:5555\"");
  if (c.kind == "remote" && !remote::is_loopback_endpoint(c.endpoint) && c.token.empty())
    s.fail("token", "endpoint \"" + c.endpoint + "\" is not on this machine; a shared 'token' (the one its server was started with) is required");
  s.finish();
}

}  // namespace sdm::hardware
