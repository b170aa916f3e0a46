#include "hardware/remote/server.hpp"

#include <chrono>
#include <iomanip>
#include <sstream>
#include <zmq_addon.hpp>

#include "core/error.hpp"
#include "hardware/remote/protocol.hpp"
#include "hardware/remote/reply_memory.hpp"

namespace sdm::hardware::remote {

struct Server::Impl {
  Impl(std::unique_ptr<MicroscopeBackend> backend, ServerOptions o)
      : microscope(std::move(backend)), options(std::move(o)), ctx(1), sock(ctx, zmq::socket_type::rep) {}
  Microscope microscope;
  ServerOptions options;
  zmq::context_t ctx;
  zmq::socket_t sock;
  std::string endpoint;
  std::uint64_t handled = 0, replays = 0;
  ProtocolLimits limits;
  ReplyMemory memory{options.remembered_replies, options.remembered_bytes};

  std::vector<zmq::message_t> handle(std::vector<zmq::message_t>& frames);
  void dispatch(const std::string& op, const nlohmann::json& args, const Message& m, CallStatus& st, nlohmann::json& result,
                std::vector<NamedArray>& arrays);
};

Server::Server(std::unique_ptr<MicroscopeBackend> backend, ServerOptions options) {
  if (!backend) throw Error("serve: no backend to serve");
  if (!is_loopback_endpoint(options.bind) && options.token.empty())
    throw Error("serve: binding to " + options.bind +
                " exposes the microscope beyond this machine; set a shared token (--token / [backend] token) or bind to tcp://127.0.0.1:<port>");
  impl_ = std::make_unique<Impl>(std::move(backend), std::move(options));
  Impl& s = *impl_;
  s.limits.max_message_bytes = s.options.max_request_bytes;
  s.sock.set(zmq::sockopt::linger, 0);
  // Hard per-frame cap: frames beyond it are dropped by ZeroMQ with the connection (a
  // memory guard); anything between the limit and the cap gets an error reply.
  s.sock.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(2 * s.options.max_request_bytes + s.limits.max_header_bytes));
  try {
    s.sock.bind(s.options.bind);
  } catch (const zmq::error_t& e) {
    throw Error("serve: cannot bind " + s.options.bind + ": " + e.what());
  }
  s.endpoint = s.sock.get(zmq::sockopt::last_endpoint);
}

Server::~Server() = default;

const std::string& Server::endpoint() const { return impl_->endpoint; }
std::uint64_t Server::requests_handled() const { return impl_->handled; }
std::uint64_t Server::replies_replayed() const { return impl_->replays; }
Microscope& Server::microscope() { return impl_->microscope; }

namespace {

nlohmann::json reply_header(const nlohmann::json& id, const CallStatus& st) {
  return {{"sdm_protocol", kProtocolVersion}, {"type", "reply"}, {"id", id}, {"status", to_string(st.code)}, {"message", st.message}, {"wall_s", st.wall_s}};
}

std::string describe(const std::string& op, const CallStatus& st, double ms, std::size_t in_bytes) {
  std::ostringstream s;
  s << op << " (" << in_bytes << " B) -> " << to_string(st.code) << " in " << std::fixed << std::setprecision(3) << ms << " ms";
  if (!st.ok()) s << ": " << st.message;
  return s.str();
}

}  // namespace

namespace {

/// FNV-1a, 64 bit: tells a repeat of a keyed request from a different request that reuses its key.
struct Fingerprint {
  std::uint64_t h = 1469598103934665603ull;
  void add(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  void add(const std::string& s) {
    add(s.data(), s.size());
    add("\0", 1);
  }
};

std::uint64_t fingerprint(const std::string& op, const nlohmann::json& args, const std::vector<NamedArray>& arrays) {
  Fingerprint f;
  f.add(op);
  f.add(args.dump());
  for (const NamedArray& a : arrays) {
    f.add(a.name);
    for (std::size_t d : a.shape) f.add(&d, sizeof d);
    f.add(a.data.data(), a.data.size() * sizeof(double));
  }
  return f.h;
}

bool mutating(const std::string& op) { return op == "survey" || op == "move_to" || op == "iv_sweep"; }

/// A survey dimension: 0 (native) up to kMaxSurveyPixels, never silently narrowed.
int survey_size(const nlohmann::json& args, const char* key) {
  const long long v = get_integer(args, key);
  if (v < 0 || v > kMaxSurveyPixels)
    throw ProtocolError(std::string("survey: ") + key + " = " + std::to_string(v) + " is out of range (0 = native, at most " +
                        std::to_string(kMaxSurveyPixels) + " pixels)");
  return static_cast<int>(v);
}

}  // namespace

std::vector<zmq::message_t> Server::Impl::handle(std::vector<zmq::message_t>& frames) {
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t in_bytes = 0;
  for (const auto& f : frames) in_bytes += f.size();
  nlohmann::json id = nullptr;
  std::string op = "?", key, note;
  CallStatus st;
  nlohmann::json result = nlohmann::json::object();
  std::vector<NamedArray> arrays;
  bool replayed = false;
  try {
    const Message m = decode(frames, limits, "request");
    id = m.header["id"];
    op = get_string(m.header, "op");
    const std::string token = m.header.contains("token") && m.header["token"].is_string() ? m.header["token"].get<std::string>() : "";
    const nlohmann::json args = m.header.contains("args") ? m.header["args"] : nlohmann::json::object();
    if (!args.is_object()) throw ProtocolError("\"args\" must be an object");
    if (m.header.contains("key")) {
      key = get_string(m.header, "key");
      if (key.size() > kMaxRequestKeyBytes) throw ProtocolError("\"key\" is longer than " + std::to_string(kMaxRequestKeyBytes) + " bytes");
    }
    if (!options.token.empty() && !same_token(token, options.token)) {
      st.code = StatusCode::refused;
      st.message = token.empty() ? "this server requires a token; none was sent" : "wrong token";
    } else if (!key.empty() && mutating(op)) {
      const std::uint64_t fp = fingerprint(op, args, m.arrays);
      if (const ReplyMemory::Entry* e = memory.find(key, op)) {
        if (e->fingerprint == fp) {
          st = e->status;
          result = e->result;
          arrays = e->arrays;
          replayed = true;
        } else {
          st.code = StatusCode::refused;
          st.message = "request key \"" + key + "\" was already used for a different " + op + " request";
        }
      } else {
        dispatch(op, args, m, st, result, arrays);
        // Remember what must never happen twice: a done call, and a tripped one (repeating it
        // would expose the sample again). Refusals executed nothing; errors may be retried.
        if (st.code == StatusCode::ok || st.code == StatusCode::tripped) {
          std::size_t bytes = result.dump().size();
          for (const NamedArray& a : arrays) bytes += a.data.size() * sizeof(double) + a.name.size();
          memory.remember(key, op, {fp, st, result, arrays, bytes, {}});
        }
      }
    } else {
      dispatch(op, args, m, st, result, arrays);
    }
  } catch (const ProtocolError& e) {
    if (id.is_null()) id = peek_id(frames, limits.max_header_bytes);
    st.code = StatusCode::error;
    st.message = std::string("bad request: ") + e.what();
    result = nlohmann::json::object();
    arrays.clear();
  } catch (const std::exception& e) {  // e.g. nlohmann type errors on odd input
    st.code = StatusCode::error;
    st.message = std::string("bad request: ") + e.what();
    result = nlohmann::json::object();
    arrays.clear();
  }
  nlohmann::json h = reply_header(id, st);
  h["result"] = result;
  if (replayed) {
    h["replayed"] = true;
    ++replays;
  }
  ++handled;
  if (options.log) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    options.log("#" + std::to_string(handled) + " id=" + id.dump() + (key.empty() ? "" : " key=" + key) + " " +
                describe(op, st, ms, in_bytes) + (replayed ? " (replayed from memory, not executed again)" : ""));
  }
  return encode(std::move(h), arrays);
}

void Server::Impl::dispatch(const std::string& op, const nlohmann::json& args, const Message& m, CallStatus& st, nlohmann::json& result,
                            std::vector<NamedArray>& arrays) {
  if (op == "hello") {
    auto caps = microscope.capabilities();
    st = caps.status;
    result = {{"server", options.server_name}, {"protocol", kProtocolVersion}, {"backend", caps.ok() ? caps.value.backend : std::string("?")}};
  } else if (op == "capabilities") {
    auto r = microscope.capabilities();
    st = r.status;
    if (r.ok()) result = to_json(r.value, arrays);
  } else if (op == "status") {
    auto r = microscope.status();
    st = r.status;
    if (r.ok()) result = to_json(r.value);
  } else if (op == "survey") {
    SurveySpec spec;
    if (args.contains("channels")) {
      if (!args["channels"].is_array()) throw ProtocolError("survey: \"channels\" must be a list of names");
      spec.channels.clear();
      for (const auto& c : args["channels"]) {
        if (!c.is_string()) throw ProtocolError("survey: channel names must be strings");
        spec.channels.push_back(c.get<std::string>());
      }
    }
    if (args.contains("nx")) spec.nx = survey_size(args, "nx");
    if (args.contains("ny")) spec.ny = survey_size(args, "ny");
    auto r = microscope.survey(spec);
    st = r.status;
    if (r.ok()) result = to_json(r.value, arrays);
  } else if (op == "move_to") {
    auto r = microscope.move_to(get_number(args, "x_m"), get_number(args, "y_m"));
    st = r.status;
    if (r.ok()) result = {{"x_m", r.value.x_m}, {"y_m", r.value.y_m}};
  } else if (op == "iv_sweep") {
    auto r = microscope.iv_sweep(waveform_from(m));
    st = r.status;
    if (r.ok()) arrays = to_arrays(r.value);
  } else {
    throw ProtocolError("unknown op \"" + op + "\"; expected hello, capabilities, status, survey, move_to or iv_sweep");
  }
}

bool Server::serve_one(double timeout_s) {
  Impl& s = *impl_;
  zmq::pollitem_t item{s.sock.handle(), 0, ZMQ_POLLIN, 0};
  const int rc = zmq::poll(&item, 1, std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
  if (rc <= 0 || !(item.revents & ZMQ_POLLIN)) return false;
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(s.sock, std::back_inserter(frames), zmq::recv_flags::dontwait)) return false;
  std::vector<zmq::message_t> reply = s.handle(frames);
  zmq::send_multipart(s.sock, reply);
  return true;
}

void Server::serve(const std::atomic<bool>& stop, double poll_s) {
  while (!stop.load()) {
    try {
      serve_one(poll_s);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;  // a signal arrived: re-check `stop`
      throw;
    }
  }
}

}  // namespace sdm::hardware::remote
