#include "hardware/remote/reply_memory.hpp"

namespace sdm::hardware::remote {

const ReplyMemory::Entry* ReplyMemory::find(const std::string& key, const std::string& op) const {
  const auto it = index_.find(key + '\n' + op);
  return it == index_.end() ? nullptr : &*it->second;
}

void ReplyMemory::remember(const std::string& key, const std::string& op, Entry entry) {
  const std::string k = key + '\n' + op;
  if (const auto it = index_.find(k); it != index_.end()) {
    bytes_ -= it->second->bytes;
    order_.erase(it->second);
    index_.erase(it);
  }
  if (max_entries_ == 0 || entry.bytes > max_bytes_) return;
  while (!order_.empty() && (order_.size() >= max_entries_ || bytes_ + entry.bytes > max_bytes_)) {
    bytes_ -= order_.front().bytes;
    index_.erase(order_.front().map_key);
    order_.pop_front();
  }
  entry.map_key = k;
  bytes_ += entry.bytes;
  order_.push_back(std::move(entry));
  index_[k] = std::prev(order_.end());
}

}  // namespace sdm::hardware::remote
