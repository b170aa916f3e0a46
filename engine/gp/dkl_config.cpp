#include "engine/gp/dkl_config.hpp"

#include "core/config.hpp"

namespace sdm::engine::gp {

void read_config(core::ConfigSection& s, DklConfig& c) {
  using core::Range;
  s.read("feature_extractor", c.feature_extractor, {"mlp", "cnn"});
  s.read("hidden", c.hidden, Range::closed(1, 4096));
  s.read("cnn_channels", c.cnn_channels, Range::closed(1, 256));
  s.read("latent_dim", c.latent_dim, Range::closed(1, 64));
  s.read("kernel", c.kernel, {"matern52", "rbf"});
  s.read("ard", c.ard);
  s.read("steps", c.steps, Range::closed(0, 100000));
  s.read("learning_rate", c.learning_rate, Range{0.0, 10.0, true, false});
  s.read("warm_start", c.warm_start);
  s.read("train_subset", c.train_subset, Range::closed(0, 1 << 24));
  s.read("early_stop_patience", c.early_stop_patience, Range::closed(0, 100000));
  s.read("early_stop_tolerance", c.early_stop_tolerance, Range::non_negative(1.0));
  s.read("min_noise_variance", c.min_noise_variance, Range::closed(0.0, 1.0));
  s.read("input_normalisation", c.input_normalisation, {"global", "per_feature", "none"});
  s.read("jitter", c.jitter, Range{0.0, 1.0, true, false});
  s.read("max_jitter", c.max_jitter, Range{0.0, 10.0, true, false});
  s.read("predict_chunk", c.predict_chunk, Range::closed(1, 1 << 24));
  if (c.max_jitter < c.jitter) s.fail("max_jitter", "must be >= jitter");
  if (c.train_subset == 1) s.fail("train_subset", "must be 0 (all rows) or >= 2");
  if (c.feature_extractor == "cnn" && c.cnn_channels.empty()) s.fail("cnn_channels", "needs at least one conv stage for the cnn");
  s.finish();
}

}  // namespace sdm::engine::gp
