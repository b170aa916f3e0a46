#pragma once
// The campaign's append-only journal, <run dir>/steps.journal: the durable record from
// which campaign.h5 can always be rebuilt. An HDF5 file being written when the process dies
// may be left unreadable (its metadata is cached and written in place); a journal frame is
// written once, at the end of the file, and fdatasync'ed before the campaign moves on, so a
// crash loses at most the frame being written — and a torn last frame is recognised (size
// and CRC-32) and dropped.
//
// Frame: "SDMJ" | kind u32 | payload size u64 | CRC-32 (IEEE, of the payload) u32 | payload,
// all little-endian; the payload is CBOR (nlohmann::json::to_cbor). Kinds: header (spec,
// grid, survey, waveform: once, first), step (one StepRecord), end (status of a session).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdm::engine::campaign {

enum class JournalKind : std::uint32_t { header = 1, step = 2, end = 3 };

/// CRC-32 (IEEE 802.3, reflected, as zlib's crc32).
std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);

struct JournalFrame {
  JournalKind kind = JournalKind::step;
  nlohmann::json payload;
};

struct JournalContents {
  std::vector<JournalFrame> frames;
  std::uint64_t valid_bytes = 0;  ///< length of the intact prefix
  std::uint64_t file_bytes = 0;   ///< > valid_bytes when the tail is torn or corrupt
  /// Intact frames found beyond the first bad one (which is frames.size(), 0-based): empty for
  /// a torn last frame (a kill mid-write, the normal resumable case); not empty means damage
  /// in the middle of the journal, and these frames would be lost by cutting it there.
  std::vector<JournalFrame> frames_after_damage;
};

/// Reads every intact frame, stopping at the first torn or corrupt one, then looks beyond it
/// for intact frames (frames_after_damage). Throws sdm::Error when the file cannot be opened.
JournalContents read_journal(const std::filesystem::path& file);

/// Cuts `file` after its header frame and first `measurements` step frames (and the session
/// end frames between them), for `sdm run --resume --truncate-journal-at N`. The bytes cut off
/// are kept beside it, in <file>.cut-<offset>, so nothing recorded is deleted. Throws
/// sdm::Error when the intact prefix holds fewer than `measurements` steps.
void truncate_journal_at(const std::filesystem::path& file, std::uint64_t measurements);

class StepJournal {
 public:
  /// Creates a new journal; throws sdm::Error if `file` exists or cannot be created.
  static StepJournal create(const std::filesystem::path& file);
  /// Opens an existing journal for appending after its first `valid_bytes` (a torn tail
  /// beyond them is cut off first).
  static StepJournal open(const std::filesystem::path& file, std::uint64_t valid_bytes);
  StepJournal(StepJournal&&) noexcept;
  StepJournal& operator=(StepJournal&&) noexcept;
  ~StepJournal();

  /// Appends one frame and fdatasync's it; throws sdm::Error on a write failure.
  void append(JournalKind kind, const nlohmann::json& payload);
  const std::filesystem::path& path() const { return path_; }

 private:
  StepJournal(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace sdm::engine::campaign
