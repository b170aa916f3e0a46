#include "engine/campaign/step_journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "core/error.hpp"

namespace sdm::engine::campaign {

namespace {

constexpr std::uint32_t kMagic = 0x4A4D4453;  // "SDMJ" little-endian
constexpr std::size_t kFrameHeader = 4 + 4 + 8 + 4;
constexpr std::uint64_t kMaxPayload = std::uint64_t(1) << 32;  // 4 GiB: anything larger is corruption

const std::array<std::uint32_t, 256>& crc_table() {
  static const std::array<std::uint32_t, 256> t = [] {
    std::array<std::uint32_t, 256> a{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      a[n] = c;
    }
    return a;
  }();
  return t;
}

template <class T>
void put(std::vector<std::uint8_t>& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

template <class T>
T get(const std::uint8_t* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(p[i]) << (8 * i);
  return v;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc) {
  const auto& t = crc_table();
  const auto* p = static_cast<const std::uint8_t*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = t[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

namespace {

/// The frame starting at `at`, when it is complete and intact; its total length in `length`.
std::optional<JournalFrame> frame_at(const std::vector<std::uint8_t>& bytes, std::size_t at, std::size_t& length) {
  if (bytes.size() - at < kFrameHeader) return std::nullopt;
  const std::uint8_t* h = bytes.data() + at;
  if (get<std::uint32_t>(h) != kMagic) return std::nullopt;
  const auto kind = get<std::uint32_t>(h + 4);
  const auto size = get<std::uint64_t>(h + 8);
  const auto crc = get<std::uint32_t>(h + 16);
  if (size > kMaxPayload || size > bytes.size() - at - kFrameHeader) return std::nullopt;  // torn
  const std::uint8_t* payload = h + kFrameHeader;
  if (crc32(payload, size) != crc) return std::nullopt;
  if (kind < 1 || kind > 3) return std::nullopt;
  JournalFrame fr;
  fr.kind = static_cast<JournalKind>(kind);
  try {
    fr.payload = nlohmann::json::from_cbor(payload, payload + size);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  length = kFrameHeader + size;
  return fr;
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) throw Error(file.string() + ": cannot open the campaign journal");
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

JournalContents read_journal(const std::filesystem::path& file) {
  const std::vector<std::uint8_t> bytes = read_bytes(file);
  JournalContents c;
  c.file_bytes = bytes.size();
  std::size_t at = 0, length = 0;
  while (auto fr = frame_at(bytes, at, length)) {
    c.frames.push_back(std::move(*fr));
    at += length;
  }
  c.valid_bytes = at;
  // Beyond the first bad frame: a frame is only ever appended after an intact one, so any intact
  // frame further on means the damage is not a torn tail. Scan for the magic, then resynchronise.
  for (std::size_t p = at + 1; p + kFrameHeader <= bytes.size();) {
    if (auto fr = frame_at(bytes, p, length)) {
      c.frames_after_damage.push_back(std::move(*fr));
      p += length;
    } else {
      ++p;
    }
  }
  return c;
}

void truncate_journal_at(const std::filesystem::path& file, std::uint64_t measurements) {
  const std::vector<std::uint8_t> bytes = read_bytes(file);
  std::size_t at = 0, length = 0, cut = 0;
  std::uint64_t steps = 0;
  bool header = false;
  while (auto fr = frame_at(bytes, at, length)) {
    if (fr->kind == JournalKind::step && ++steps > measurements) break;
    header = header || fr->kind == JournalKind::header;
    at += length;
    cut = at;
  }
  if (!header || steps < measurements)
    throw Error(file.string() + ": --truncate-journal-at " + std::to_string(measurements) + ": the intact start of the journal holds only " +
                std::to_string(header ? steps : 0) + " measurement" + (steps == 1 ? "" : "s") + (header ? "" : " and no header"));
  if (cut == bytes.size()) return;
  const std::filesystem::path kept = file.string() + ".cut-" + std::to_string(cut);
  {
    std::ofstream out(kept, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data() + cut), static_cast<std::streamsize>(bytes.size() - cut));
    out.flush();
    if (!out) throw Error(kept.string() + ": cannot keep the part of the journal being cut off (disk full?); nothing was cut");
  }
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(cut)) != 0 || ::fdatasync(fd) != 0) {
    const std::string why = errno_text();
    if (fd >= 0) ::close(fd);
    throw Error(file.string() + ": cannot cut the journal (" + why + ")");
  }
  ::close(fd);
}

StepJournal StepJournal::create(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(file.string() + ": cannot create the campaign journal (" + errno_text() + ")");
  return StepJournal(file, fd);
}

StepJournal StepJournal::open(const std::filesystem::path& file, std::uint64_t valid_bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw Error(file.string() + ": cannot open the campaign journal for appending (" + errno_text() + ")");
  if (::ftruncate(fd, static_cast<off_t>(valid_bytes)) != 0 || ::fdatasync(fd) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    throw Error(file.string() + ": cannot cut the torn tail of the campaign journal (" + why + ")");
  }
  return StepJournal(file, fd);
}

StepJournal::StepJournal(StepJournal&& o) noexcept : path_(std::move(o.path_)), fd_(o.fd_) { o.fd_ = -1; }
StepJournal& StepJournal::operator=(StepJournal&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}
StepJournal::~StepJournal() {
  if (fd_ >= 0) ::close(fd_);
}

void StepJournal::append(JournalKind kind, const nlohmann::json& payload) {
  const std::vector<std::uint8_t> body = nlohmann::json::to_cbor(payload);
  std::vector<std::uint8_t> frame;
  frame.reserve(kFrameHeader + body.size());
  put<std::uint32_t>(frame, kMagic);
  put<std::uint32_t>(frame, static_cast<std::uint32_t>(kind));
  put<std::uint64_t>(frame, body.size());
  put<std::uint32_t>(frame, crc32(body.data(), body.size()));
  frame.insert(frame.end(), body.begin(), body.end());
  std::size_t done = 0;
  while (done < frame.size()) {  // one write() normally; loop for partial writes
    const ssize_t n = ::write(fd_, frame.data() + done, frame.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path_.string() + ": cannot append to the campaign journal (" + errno_text() + ")");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0) throw Error(path_.string() + ": cannot sync the campaign journal (" + errno_text() + ")");
}

}  // namespace sdm::engine::campaign
