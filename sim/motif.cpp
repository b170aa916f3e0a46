#include "sim/motif.hpp"

namespace sdm::sim {

const char* motif_name(Motif m) {
  switch (m) {
    case Motif::grain_interior: return "grain_interior";
    case Motif::grain_boundary: return "grain_boundary";
    case Motif::triple_junction: return "triple_junction";
    case Motif::asymmetric_boundary: return "asymmetric_boundary";
  }
  return "unknown";
}

}  // namespace sdm::sim
