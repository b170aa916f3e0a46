#pragma once
// Choosing among candidates: the argmax of a score over the unmeasured ones, with
// deterministic tie-breaking (the lowest candidate index wins), and helpers the strategies share.
#include <vector>

namespace sdm::engine::acquisition {

/// Index i maximising scores[i] over the candidates with is_measured[i] == 0; exact ties go
/// to the lowest index; NaN scores count as −∞ (a NaN-only field still yields the first
/// unmeasured candidate). Returns −1 when every candidate is measured. Sizes must match.
int argmax_unmeasured(const std::vector<double>& scores, const std::vector<char>& is_measured);

/// Indices of the unmeasured candidates, ascending.
std::vector<int> unmeasured_candidates(const std::vector<char>& is_measured);

/// First entry of `order` not yet measured, else the lowest unmeasured index, else −1.
int first_unmeasured(const std::vector<int>& order, const std::vector<char>& is_measured);

}  // namespace sdm::engine::acquisition
