#include "hardware/remote/protocol.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sdm::hardware::remote {
namespace {

bool host_little_endian() {
  const std::uint16_t one = 1;
  unsigned char c;
  std::memcpy(&c, &one, 1);
  return c == 1;
}

void put_le_doubles(void* dst, const double* src, std::size_t n) {
  std::memcpy(dst, src, n * sizeof(double));
  if (!host_little_endian()) {
    auto* p = static_cast<std::uint64_t*>(dst);
    for (std::size_t i = 0; i < n; ++i) p[i] = __builtin_bswap64(p[i]);
  }
}

void get_le_doubles(double* dst, const void* src, std::size_t n) {
  std::memcpy(dst, src, n * sizeof(double));
  if (!host_little_endian()) {
    auto* p = reinterpret_cast<std::uint64_t*>(dst);
    for (std::size_t i = 0; i < n; ++i) p[i] = __builtin_bswap64(p[i]);
  }
}

[[noreturn]] void bad(const std::string& what) { throw ProtocolError(what); }

}  // namespace

namespace {
const nlohmann::json& result_of(const Message& m) {
  auto it = m.header.find("result");
  if (it == m.header.end() || !it->is_object()) bad("reply has no \"result\" object");
  return *it;
}
}  // namespace

const NamedArray* Message::find(const std::string& name) const {
  for (const NamedArray& a : arrays)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<zmq::message_t> encode(nlohmann::json header, const std::vector<NamedArray>& arrays) {
  nlohmann::json list = nlohmann::json::array();
  for (const NamedArray& a : arrays) list.push_back({{"name", a.name}, {"dtype", "<f8"}, {"shape", a.shape}});
  header["arrays"] = std::move(list);
  std::vector<zmq::message_t> frames;
  frames.reserve(arrays.size() + 1);
  frames.emplace_back(header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  for (const NamedArray& a : arrays) {
    zmq::message_t m(a.data.size() * sizeof(double));
    put_le_doubles(m.data(), a.data.data(), a.data.size());
    frames.push_back(std::move(m));
  }
  return frames;
}

long long get_integer(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) bad(std::string("missing field \"") + key + "\"");
  if (!it->is_number_integer()) bad(std::string("field \"") + key + "\" must be an integer");
  return it->get<long long>();
}

double get_number(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) bad(std::string("missing field \"") + key + "\"");
  if (!it->is_number()) bad(std::string("field \"") + key + "\" must be a number");
  return it->get<double>();
}

std::string get_string(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) bad(std::string("missing field \"") + key + "\"");
  if (!it->is_string()) bad(std::string("field \"") + key + "\" must be a string");
  return it->get<std::string>();
}

nlohmann::json peek_id(const std::vector<zmq::message_t>& frames, std::size_t max_header_bytes) {
  if (frames.empty() || frames[0].size() > max_header_bytes) return nullptr;
  const nlohmann::json h = nlohmann::json::parse(frames[0].to_string_view(), nullptr, false);
  if (h.is_object() && h.contains("id") && h["id"].is_number_unsigned()) return h["id"];
  return nullptr;
}

Message decode(const std::vector<zmq::message_t>& frames, const ProtocolLimits& limits, const std::string& expected_type) {
  if (frames.empty()) bad("empty message");
  std::size_t total = 0;
  for (const zmq::message_t& f : frames) total += f.size();
  if (total > limits.max_message_bytes)
    bad("message of " + std::to_string(total) + " bytes exceeds the limit of " + std::to_string(limits.max_message_bytes) + " bytes");
  if (frames.size() - 1 > limits.max_arrays)
    bad("message has " + std::to_string(frames.size() - 1) + " array frames; at most " + std::to_string(limits.max_arrays) + " allowed");
  if (frames[0].size() > limits.max_header_bytes)
    bad("header of " + std::to_string(frames[0].size()) + " bytes exceeds the limit of " + std::to_string(limits.max_header_bytes) + " bytes");
  Message m;
  m.header = nlohmann::json::parse(frames[0].to_string_view(), nullptr, false);
  if (m.header.is_discarded()) bad("header frame is not valid JSON");
  if (!m.header.is_object()) bad("header must be a JSON object");
  if (!m.header.contains("sdm_protocol")) bad("header has no \"sdm_protocol\" version");
  if (!m.header["sdm_protocol"].is_number_integer() || m.header["sdm_protocol"].get<long long>() != kProtocolVersion)
    bad("protocol version " + m.header["sdm_protocol"].dump() + " is not supported (this side speaks " + std::to_string(kProtocolVersion) + ")");
  if (get_string(m.header, "type") != expected_type) bad("expected a " + expected_type + ", got type \"" + m.header["type"].get<std::string>() + "\"");
  if (!m.header.contains("id") || !m.header["id"].is_number_unsigned()) bad("header needs a non-negative integer \"id\"");
  const auto it = m.header.find("arrays");
  const std::size_t declared = it == m.header.end() ? 0 : (it->is_array() ? it->size() : std::size_t(-1));
  if (declared == std::size_t(-1)) bad("\"arrays\" must be a list");
  if (declared != frames.size() - 1)
    bad("header declares " + std::to_string(declared) + " arrays but " + std::to_string(frames.size() - 1) + " array frames follow");
  for (std::size_t i = 0; i < declared; ++i) {
    const nlohmann::json& d = (*it)[i];
    if (!d.is_object()) bad("array declaration " + std::to_string(i) + " must be an object");
    NamedArray a;
    a.name = get_string(d, "name");
    if (get_string(d, "dtype") != "<f8") bad("array \"" + a.name + "\": dtype must be \"<f8\" (little-endian float64)");
    if (!d.contains("shape") || !d["shape"].is_array() || d["shape"].size() > 8) bad("array \"" + a.name + "\": \"shape\" must be a list of at most 8 sizes");
    std::size_t count = 1;
    for (const auto& s : d["shape"]) {
      if (!s.is_number_unsigned()) bad("array \"" + a.name + "\": shape entries must be non-negative integers");
      const std::size_t v = s.get<std::size_t>();
      if (v && count > limits.max_message_bytes / v) bad("array \"" + a.name + "\": shape too large");
      count *= v;
      a.shape.push_back(v);
    }
    const std::size_t bytes = frames[i + 1].size();
    if (bytes != count * sizeof(double))
      bad("array \"" + a.name + "\": frame has " + std::to_string(bytes) + " bytes, its shape needs " + std::to_string(count * sizeof(double)) +
          " (truncated or mismatched frame)");
    a.data.resize(count);
    get_le_doubles(a.data.data(), frames[i + 1].data(), count);
    m.arrays.push_back(std::move(a));
  }
  m.header.erase("arrays");
  return m;
}

bool is_loopback_endpoint(const std::string& e) {
  if (e.rfind("ipc://", 0) == 0 || e.rfind("inproc://", 0) == 0) return true;
  if (e.rfind("tcp://", 0) != 0) return false;
  std::string host = e.substr(6);
  // An optional "source;" prefix names the local interface, not the peer.
  if (const std::size_t semi = host.find(';'); semi != std::string::npos) host = host.substr(semi + 1);
  if (!host.empty() && host[0] == '[') {
    const std::size_t close = host.find(']');
    return close != std::string::npos && host.substr(1, close - 1) == "::1";
  }
  host = host.substr(0, host.rfind(':'));
  if (host == "localhost") return true;
  if (host.rfind("127.", 0) == 0) {
    int dots = 0;
    for (char c : host) {
      if (c == '.') ++dots;
      else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return dots == 3;
  }
  return false;
}

bool same_token(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0, y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// ------------------------------------------------------------------ domain types

nlohmann::json to_json(const Capabilities& c, std::vector<NamedArray>& arrays) {
  if (!c.native_waveform.bias_v.empty()) {
    arrays.push_back({"native_time_s", {c.native_waveform.time_s.size()}, c.native_waveform.time_s});
    arrays.push_back({"native_bias_v", {c.native_waveform.bias_v.size()}, c.native_waveform.bias_v});
  }
  return {{"backend", c.backend},
          {"x_min_m", c.x_min_m},
          {"x_max_m", c.x_max_m},
          {"y_min_m", c.y_min_m},
          {"y_max_m", c.y_max_m},
          {"max_bias_v", c.max_bias_v},
          {"max_current_a", c.max_current_a},
          {"max_sweep_rate_v_per_s", c.max_sweep_rate_v_per_s},
          {"channels", c.channels},
          {"signal_name", c.signal_name},
          {"signal_unit", c.signal_unit}};
}

Capabilities capabilities_from(const Message& m) {
  const nlohmann::json& r = result_of(m);
  Capabilities c;
  c.backend = get_string(r, "backend");
  c.x_min_m = get_number(r, "x_min_m");
  c.x_max_m = get_number(r, "x_max_m");
  c.y_min_m = get_number(r, "y_min_m");
  c.y_max_m = get_number(r, "y_max_m");
  c.max_bias_v = get_number(r, "max_bias_v");
  c.max_current_a = get_number(r, "max_current_a");
  c.max_sweep_rate_v_per_s = get_number(r, "max_sweep_rate_v_per_s");
  if (!r.contains("channels") || !r["channels"].is_array()) bad("capabilities need a \"channels\" list");
  for (const auto& ch : r["channels"]) {
    if (!ch.is_string()) bad("capabilities: channel names must be strings");
    c.channels.push_back(ch.get<std::string>());
  }
  if (r.contains("signal_name")) c.signal_name = get_string(r, "signal_name");
  if (r.contains("signal_unit")) c.signal_unit = get_string(r, "signal_unit");
  const NamedArray* t = m.find("native_time_s");
  const NamedArray* b = m.find("native_bias_v");
  if (t && b) {
    if (t->data.size() != b->data.size()) bad("capabilities: native_time_s and native_bias_v differ in length");
    c.native_waveform.time_s = t->data;
    c.native_waveform.bias_v = b->data;
  }
  return c;
}

nlohmann::json to_json(const MicroscopeStatus& s) {
  return {{"x_m", s.position.x_m}, {"y_m", s.position.y_m}, {"instrument_clock_s", s.instrument_clock_s}, {"connected", s.connected}, {"state", s.state}};
}

MicroscopeStatus status_from(const nlohmann::json& r) {
  MicroscopeStatus s;
  s.position = {get_number(r, "x_m"), get_number(r, "y_m")};
  s.instrument_clock_s = get_number(r, "instrument_clock_s");
  if (!r.contains("connected") || !r["connected"].is_boolean()) bad("status needs a boolean \"connected\"");
  s.connected = r["connected"].get<bool>();
  s.state = r.contains("state") ? get_string(r, "state") : "";
  return s;
}

nlohmann::json to_json(const SurveyImage& img, std::vector<NamedArray>& arrays) {
  nlohmann::json ch = nlohmann::json::array();
  for (const Channel& c : img.channels) {
    ch.push_back({{"name", c.name}, {"unit", c.unit}});
    arrays.push_back({c.name, {std::size_t(img.axes.ny), std::size_t(img.axes.nx)}, c.data});
  }
  return {{"axes", {{"nx", img.axes.nx}, {"ny", img.axes.ny}, {"x0_m", img.axes.x0_m}, {"y0_m", img.axes.y0_m}, {"dx_m", img.axes.dx_m}, {"dy_m", img.axes.dy_m}}},
          {"channels", ch}};
}

SurveyImage survey_from(const Message& m) {
  const nlohmann::json& r = result_of(m);
  if (!r.contains("axes") || !r["axes"].is_object()) bad("survey reply needs \"axes\"");
  const nlohmann::json& a = r["axes"];
  SurveyImage img;
  const long long nx = get_integer(a, "nx"), ny = get_integer(a, "ny");
  if (nx < 0 || ny < 0 || nx > kMaxSurveyPixels || ny > kMaxSurveyPixels) bad("survey axes: implausible size");
  img.axes.nx = int(nx);
  img.axes.ny = int(ny);
  img.axes.x0_m = get_number(a, "x0_m");
  img.axes.y0_m = get_number(a, "y0_m");
  img.axes.dx_m = get_number(a, "dx_m");
  img.axes.dy_m = get_number(a, "dy_m");
  if (!r.contains("channels") || !r["channels"].is_array()) bad("survey reply needs a \"channels\" list");
  for (const auto& c : r["channels"]) {
    if (!c.is_object()) bad("survey channel entries must be objects");
    Channel ch{get_string(c, "name"), get_string(c, "unit"), {}};
    const NamedArray* d = m.find(ch.name);
    if (!d) bad("survey reply lacks the array for channel \"" + ch.name + "\"");
    if (d->shape.size() != 2 || d->shape[0] != std::size_t(ny) || d->shape[1] != std::size_t(nx))
      bad("survey channel \"" + ch.name + "\" does not have shape (ny, nx)");
    ch.data = d->data;
    img.channels.push_back(std::move(ch));
  }
  return img;
}

std::vector<NamedArray> to_arrays(const core::IvCurve& c) {
  return {{"time_s", {c.time_s.size()}, c.time_s}, {"bias_v", {c.bias_v.size()}, c.bias_v}, {"current_a", {c.current_a.size()}, c.current_a}};
}

core::IvCurve curve_from(const Message& m) {
  const NamedArray *t = m.find("time_s"), *b = m.find("bias_v"), *i = m.find("current_a");
  if (!t || !b || !i) bad("iv_sweep reply needs arrays time_s, bias_v and current_a");
  if (t->shape.size() != 1 || b->shape.size() != 1 || i->shape.size() != 1 || t->data.size() != b->data.size() || b->data.size() != i->data.size())
    bad("iv_sweep reply: time_s, bias_v and current_a must be 1-D of equal length");
  return {t->data, b->data, i->data};
}

std::vector<NamedArray> to_arrays(const core::Waveform& w) {
  return {{"time_s", {w.time_s.size()}, w.time_s}, {"bias_v", {w.bias_v.size()}, w.bias_v}};
}

core::Waveform waveform_from(const Message& m) {
  const NamedArray *t = m.find("time_s"), *b = m.find("bias_v");
  if (!t || !b) bad("iv_sweep request needs arrays time_s and bias_v");
  if (t->shape.size() != 1 || b->shape.size() != 1) bad("iv_sweep request: time_s and bias_v must be 1-D");
  return {t->data, b->data};  // lengths and values are checked by the backend (validate → refused)
}

}  // namespace sdm::hardware::remote
