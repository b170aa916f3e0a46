#pragma once
// What makes a keyed request exactly-once (docs/protocol.md, "Request keys"): the server
// remembers the replies of the last keyed mutating calls, by (key, op), with a fingerprint
// of the request, so that a repeat (the client re-asking after a lost reply) is answered
// from memory instead of sweeping the sample again. Bounded: the oldest entries go first
// when `max_entries` or `max_bytes` would be exceeded; a reply larger than max_bytes is not
// remembered at all.
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "hardware/remote/protocol.hpp"

namespace sdm::hardware::remote {

/// Longest request key accepted, bytes.
inline constexpr std::size_t kMaxRequestKeyBytes = 256;

class ReplyMemory {
 public:
  struct Entry {
    std::uint64_t fingerprint = 0;  ///< of op, args and arrays: a reused key with another request is refused
    CallStatus status;
    nlohmann::json result;
    std::vector<NamedArray> arrays;
    std::size_t bytes = 0;          ///< approximate size, for the byte budget
    std::string map_key;            ///< internal
  };
  ReplyMemory(std::size_t max_entries, std::size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}
  /// nullptr when nothing is remembered for (key, op).
  const Entry* find(const std::string& key, const std::string& op) const;
  /// Stores (replacing an older entry of the same key and op), evicting the oldest as needed.
  void remember(const std::string& key, const std::string& op, Entry entry);
  std::size_t size() const { return order_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t max_entries_, max_bytes_, bytes_ = 0;
  std::list<Entry> order_;  ///< oldest first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace sdm::hardware::remote
