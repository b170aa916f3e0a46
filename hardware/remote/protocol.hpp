#pragma once
// The sdm remote-microscope wire protocol (version 1), shared by the client
// (RemoteBackend), the server (Server, `sdm serve`) and the Python bridge. Full
// description: docs/protocol.md. In short: ZeroMQ REQ/REP; every message is a multipart
// message whose first frame is a UTF-8 JSON object (the header) and whose further frames
// are the raw bytes of the arrays the header lists, in order, little-endian float64,
// C order. Every header carries "sdm_protocol": 1, "type" ("request"/"reply") and "id".
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "hardware/microscope.hpp"

namespace sdm::hardware::remote {

inline constexpr int kProtocolVersion = 1;
/// Largest survey side either end accepts, pixels.
inline constexpr long long kMaxSurveyPixels = 1 << 20;

/// What either side accepts before rejecting a message.
struct ProtocolLimits {
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_message_bytes = 16u << 20;  ///< all frames together
  std::size_t max_arrays = 64;
};

/// An n-d float64 array travelling in its own frame.
struct NamedArray {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<double> data;  ///< product(shape) values, C order
};

struct Message {
  nlohmann::json header;           ///< without the "arrays" list (decoded into `arrays`)
  std::vector<NamedArray> arrays;
  /// nullptr when absent.
  const NamedArray* find(const std::string& name) const;
};

/// A message that breaks the protocol; `what()` says how.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Frames for `header` (copied; "arrays" is filled in) followed by one frame per array.
std::vector<zmq::message_t> encode(nlohmann::json header, const std::vector<NamedArray>& arrays);

/// Checks and decodes frames: header size and JSON, protocol version, type, id, array
/// declarations (name, dtype "<f8", shape) against the frames and their byte counts,
/// the total size. Throws ProtocolError; `expected_type` is "request" or "reply".
Message decode(const std::vector<zmq::message_t>& frames, const ProtocolLimits& limits, const std::string& expected_type);

/// Best effort: the "id" of a header that failed to decode, or null.
nlohmann::json peek_id(const std::vector<zmq::message_t>& frames, std::size_t max_header_bytes);

/// True for endpoints that cannot be reached from another machine: tcp:// to 127.0.0.0/8,
/// localhost or [::1]; ipc:// and inproc://. Anything else (tcp://*, 0.0.0.0, a LAN
/// address) needs a shared token.
bool is_loopback_endpoint(const std::string& endpoint);

/// Constant-time string comparison for tokens.
bool same_token(const std::string& a, const std::string& b);

// Domain types ↔ JSON (+ arrays). Throw ProtocolError on missing or mistyped fields.
nlohmann::json to_json(const Capabilities& c, std::vector<NamedArray>& arrays);
Capabilities capabilities_from(const Message& m);
nlohmann::json to_json(const MicroscopeStatus& s);
MicroscopeStatus status_from(const nlohmann::json& result);
nlohmann::json to_json(const SurveyImage& img, std::vector<NamedArray>& arrays);
SurveyImage survey_from(const Message& m);
std::vector<NamedArray> to_arrays(const core::IvCurve& c);
core::IvCurve curve_from(const Message& m);
std::vector<NamedArray> to_arrays(const core::Waveform& w);
core::Waveform waveform_from(const Message& m);

/// Typed access to header fields; ProtocolError naming the field when absent or mistyped.
double get_number(const nlohmann::json& j, const char* key);
long long get_integer(const nlohmann::json& j, const char* key);
std::string get_string(const nlohmann::json& j, const char* key);

}  // namespace sdm::hardware::remote
