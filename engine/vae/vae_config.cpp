#include "engine/vae/vae_config.hpp"

#include "core/config.hpp"
#include "engine/acquisition/strategy_config.hpp"

namespace sdm::engine::vae {

void read_config(core::ConfigSection& s, VaeConfig& c) {
  using core::Range;
  s.read("latent_dim", c.latent_dim, Range::closed(1, 64));
  s.read("hidden", c.hidden, Range::closed(1, 8192));
  s.read("epochs", c.epochs, Range::closed(0, 1000000));
  s.read("learning_rate", c.learning_rate, Range{0.0, 10.0, true, false});
  s.read("beta_kl", c.beta_kl, Range::non_negative(1e4));
  s.read("gamma_similarity", c.gamma_similarity, Range::non_negative(1e6));
  s.read("tie_warmup_fraction", c.tie_warmup_fraction, Range::closed(0.0, 1.0));
  s.read("tie_moves", c.tie_moves, {"both", "curve", "image"});
  s.read("coordinate_invariance", c.coordinate_invariance);
  s.read("rotation_prior_rad", c.rotation_prior_rad, Range{0.0, 6.3, true, false});
  s.read("shift_prior", c.shift_prior, Range{0.0, 10.0, true, false});
  s.read("spatial_decoder_layers", c.spatial_decoder_layers, Range::closed(1, 8));
  s.read("curve_points", c.curve_points, Range::closed(2, 100000));
  s.read("patch_scaling", c.patch_scaling, {"global_minmax", "per_patch_minmax", "none"});
  s.read("curve_scaling", c.curve_scaling, {"global_minmax", "per_curve_minmax", "none"});
  s.read("threads", c.threads, Range::closed(0, 256));
  s.read("scalarizer", c.scalarizer, acquisition::scalarizer_names());
  s.read("manifold_grid", c.manifold_grid, Range::closed(2, 64));
  s.read("max_clusters", c.max_clusters, Range::closed(1, 64));
  s.read("cluster_representatives", c.cluster_representatives, Range::closed(1, 64));
  s.finish();
}

}  // namespace sdm::engine::vae
