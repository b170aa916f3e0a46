#include "hardware/remote/remote_backend.hpp"

#include <atomic>
#include <optional>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>
#include <zmq_addon.hpp>

#include "core/error.hpp"
#include "hardware/backend_config.hpp"
#include "hardware/remote/protocol.hpp"
#include "hardware/remote/reply_memory.hpp"

namespace sdm::hardware::remote {

RemoteOptions RemoteOptions::from(const BackendConfig& c) {
  RemoteOptions o;
  o.endpoint = c.endpoint;
  o.token = c.token;
  o.timeout_s = c.timeout_s;
  o.survey_timeout_s = std::max(c.survey_timeout_s, c.timeout_s);
  return o;
}

namespace {
using Clock = std::chrono::steady_clock;
std::atomic<unsigned long long> monitor_counter{0};

std::string secs(double s) {
  std::ostringstream o;
  o << s << " s";
  return o.str();
}
}  // namespace

struct RemoteBackend::Impl {
  RemoteOptions o;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> req, mon;
  bool connected = false;
  std::string last_event = "no connection attempt yet";
  unsigned long long next_id = 1, sent = 0, resets = 0, replays = 0;
  ProtocolLimits limits;
  std::string key;  ///< set_request_key: sent with survey, move_to and iv_sweep

  ~Impl() { close(); }

  void open() {
    req = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::req);
    req->set(zmq::sockopt::linger, 0);
    req->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(o.max_reply_bytes));
    const std::string addr = "inproc://sdm-remote-monitor-" + std::to_string(++monitor_counter);
    if (zmq_socket_monitor(req->handle(), addr.c_str(),
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_CLOSED) != 0)
      throw CallError(StatusCode::error, o.endpoint + ": cannot monitor the socket: " + zmq_strerror(zmq_errno()));
    mon = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::pair);
    mon->set(zmq::sockopt::linger, 0);
    mon->connect(addr);
    connected = false;
    last_event = "connecting";
    try {
      req->connect(o.endpoint);
    } catch (const zmq::error_t& e) {
      close();
      throw CallError(StatusCode::error, o.endpoint + ": cannot connect: " + e.what());
    }
  }

  void close() {
    if (req) zmq_socket_monitor(req->handle(), nullptr, 0);
    mon.reset();
    req.reset();
    connected = false;
  }

  void reset() {
    close();
    ++resets;
  }

  /// Reads pending monitor events; returns true if the connection dropped.
  bool drain_monitor() {
    bool dropped = false;
    while (mon) {
      std::vector<zmq::message_t> ev;
      if (!zmq::recv_multipart(*mon, std::back_inserter(ev), zmq::recv_flags::dontwait)) break;
      if (ev.empty() || ev[0].size() < 6) continue;
      std::uint16_t event;
      std::memcpy(&event, ev[0].data(), 2);
      switch (event) {
        case ZMQ_EVENT_CONNECTED: connected = true; last_event = "connected"; break;
        case ZMQ_EVENT_DISCONNECTED:
          if (connected) dropped = true;
          connected = false;
          last_event = "the server closed the connection";
          break;
        case ZMQ_EVENT_CONNECT_RETRIED: last_event = "connection refused or unreachable, retrying"; break;
        case ZMQ_EVENT_CLOSED: connected = false; last_event = "socket closed"; break;
        default: break;
      }
    }
    return dropped;
  }

  /// One request/reply, with the lazy-pirate recovery. Throws CallError. `keyed` requests
  /// carry the current key; with one, a repeat cannot execute twice (the server answers it
  /// from memory), so the request is re-asked after a timeout even when not idempotent.
  Message call(const std::string& op, nlohmann::json args, const std::vector<NamedArray>& arrays, bool idempotent, double timeout_s,
               bool keyed = false) {
    const bool with_key = keyed && !key.empty();
    const int attempts = idempotent || with_key ? 1 + std::max(0, o.retries) : 1;
    CallError last(StatusCode::error, "");
    for (int attempt = 0; attempt < attempts; ++attempt) {
      if (!req) open();
      drain_monitor();
      const unsigned long long id = next_id++;
      nlohmann::json h{{"sdm_protocol", kProtocolVersion}, {"type", "request"}, {"id", id}, {"op", op}, {"args", std::move(args)}};
      if (!o.token.empty()) h["token"] = o.token;
      if (with_key) h["key"] = key;
      std::vector<zmq::message_t> frames = encode(h, arrays);
      args = h["args"];  // kept for a retry
      if (!zmq::send_multipart(*req, frames, zmq::send_flags::dontwait)) {
        reset();
        last = CallError(StatusCode::disconnected, o.endpoint + ": cannot queue the " + op + " request (" + last_event + ")");
        continue;
      }
      ++sent;
      const std::string what = op + " (request " + std::to_string(id) + ")";
      const auto start = Clock::now();
      bool waiting_for_connection = !connected;
      Clock::time_point unconnected_since = start;
      for (;;) {
        zmq::pollitem_t items[2] = {{req->handle(), 0, ZMQ_POLLIN, 0}, {mon->handle(), 0, ZMQ_POLLIN, 0}};
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        const double left = std::max(0.0, std::min(timeout_s - elapsed, 0.05));
        try {
          zmq::poll(items, 2, std::chrono::milliseconds(static_cast<long>(std::ceil(left * 1000))));
        } catch (const zmq::error_t& e) {
          if (e.num() != EINTR) throw;
        }
        if (items[1].revents & ZMQ_POLLIN) {
          const bool was = connected;
          if (drain_monitor()) {
            reset();
            last = CallError(StatusCode::disconnected,
                             o.endpoint + ": connection lost while waiting for the reply to " + what + "; the server may have stopped");
            break;
          }
          if (connected && !was) waiting_for_connection = false;
          if (!connected && !waiting_for_connection) waiting_for_connection = true, unconnected_since = Clock::now();
        }
        if (items[0].revents & ZMQ_POLLIN) {
          std::vector<zmq::message_t> reply;
          (void)zmq::recv_multipart(*req, std::back_inserter(reply), zmq::recv_flags::dontwait);
          Message m;
          try {
            m = decode(reply, limits, "reply");
          } catch (const ProtocolError& e) {
            reset();
            throw CallError(StatusCode::error, o.endpoint + ": malformed reply to " + what + ": " + e.what());
          }
          if (m.header["id"].get<unsigned long long>() != id) {
            reset();
            throw CallError(StatusCode::error, o.endpoint + ": reply id " + m.header["id"].dump() + " does not match " + what);
          }
          StatusCode code;
          std::string message;
          try {
            code = status_code_from_string(get_string(m.header, "status"));
            message = m.header.contains("message") && m.header["message"].is_string() ? m.header["message"].get<std::string>() : "";
          } catch (const std::exception& e) {
            throw CallError(StatusCode::error, o.endpoint + ": malformed reply to " + what + ": " + e.what());
          }
          if (m.header.contains("replayed") && m.header["replayed"] == true) ++replays;
          if (code != StatusCode::ok) throw CallError(code, o.endpoint + ": " + message);
          return m;
        }
        const auto now = Clock::now();
        if (!connected && waiting_for_connection && std::chrono::duration<double>(now - unconnected_since).count() >= o.connect_timeout_s) {
          reset();
          last = CallError(StatusCode::disconnected, o.endpoint + ": no connection to the server within " + secs(o.connect_timeout_s) + " (" +
                                                         (last_event == "connecting" ? std::string("nothing is listening?") : last_event) +
                                                         "); is `sdm serve` or the bridge running?");
          break;
        }
        if (std::chrono::duration<double>(now - start).count() >= timeout_s) {
          reset();
          last = CallError(StatusCode::timeout, o.endpoint + ": no reply to " + what + " within " + secs(timeout_s) +
                                                    "; the socket was reset (the server may be stuck or overloaded)");
          break;
        }
      }
    }
    throw last;
  }

  template <class F>
  auto parse(const std::string& op, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const ProtocolError& e) {
      throw CallError(StatusCode::error, o.endpoint + ": malformed reply to " + op + ": " + e.what());
    }
  }
};

RemoteBackend::RemoteBackend(RemoteOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(options);
  const RemoteOptions& o = impl_->o;
  if (o.endpoint.empty()) throw Error("remote: no endpoint; set [backend] endpoint = \"tcp://host:port\"");
  if (!is_loopback_endpoint(o.endpoint) && o.token.empty())
    throw Error("remote: endpoint " + o.endpoint + " is not on this machine; set the shared [backend] token that its server requires");
  if (!(o.timeout_s > 0) || !(o.survey_timeout_s > 0) || !(o.connect_timeout_s > 0))
    throw Error("remote: timeouts must be positive (timeout_s, survey_timeout_s, connect_timeout_s)");
  impl_->limits.max_message_bytes = o.max_reply_bytes;
}

RemoteBackend::~RemoteBackend() = default;

const std::string& RemoteBackend::endpoint() const { return impl_->o.endpoint; }
unsigned long long RemoteBackend::requests_sent() const { return impl_->sent; }
unsigned long long RemoteBackend::socket_resets() const { return impl_->resets; }
unsigned long long RemoteBackend::replies_replayed() const { return impl_->replays; }
void RemoteBackend::set_request_key(const std::string& key) {
  if (key.size() > kMaxRequestKeyBytes) throw Error("remote: request key longer than " + std::to_string(kMaxRequestKeyBytes) + " bytes");
  impl_->key = key;
}

std::string RemoteBackend::hello() {
  Message m = impl_->call("hello", nlohmann::json::object(), {}, true, impl_->o.timeout_s);
  return impl_->parse("hello", [&] {
    const nlohmann::json& r = m.header["result"];
    if (!r.is_object()) throw ProtocolError("hello reply has no result");
    return get_string(r, "server") + ", " + get_string(r, "backend");
  });
}

SurveyImage RemoteBackend::survey(const SurveySpec& spec) {
  Message m = impl_->call("survey", {{"channels", spec.channels}, {"nx", spec.nx}, {"ny", spec.ny}}, {}, true, impl_->o.survey_timeout_s, true);
  return impl_->parse("survey", [&] { return survey_from(m); });
}

Position RemoteBackend::move_to(double x_m, double y_m) {
  if (!std::isfinite(x_m) || !std::isfinite(y_m)) throw CallError(StatusCode::refused, impl_->o.endpoint + ": move_to needs a finite position");
  Message m = impl_->call("move_to", {{"x_m", x_m}, {"y_m", y_m}}, {}, true, impl_->o.timeout_s, true);
  return impl_->parse("move_to", [&] {
    if (!m.header.contains("result") || !m.header["result"].is_object()) throw ProtocolError("move_to reply has no result");
    return Position{get_number(m.header["result"], "x_m"), get_number(m.header["result"], "y_m")};
  });
}

core::IvCurve RemoteBackend::iv_sweep(const core::Waveform& w) {
  try {
    w.validate();  // an invalid programme is refused here: nothing is sent
  } catch (const std::exception& e) {
    throw CallError(StatusCode::refused, impl_->o.endpoint + ": " + e.what());
  }
  // The deadline covers the sweep itself on the instrument.
  const double t = impl_->o.timeout_s + (std::isfinite(w.duration_s()) ? std::max(0.0, w.duration_s()) : 0.0);
  Message m = impl_->call("iv_sweep", nlohmann::json::object(), to_arrays(w), false, t, true);
  return impl_->parse("iv_sweep", [&] { return curve_from(m); });
}

MicroscopeStatus RemoteBackend::status() {
  Message m = impl_->call("status", nlohmann::json::object(), {}, true, impl_->o.timeout_s);
  return impl_->parse("status", [&] {
    if (!m.header.contains("result") || !m.header["result"].is_object()) throw ProtocolError("status reply has no result");
    return status_from(m.header["result"]);
  });
}

Capabilities RemoteBackend::capabilities() {
  Message m = impl_->call("capabilities", nlohmann::json::object(), {}, true, impl_->o.timeout_s);
  return impl_->parse("capabilities", [&] {
    Capabilities c = capabilities_from(m);
    c.backend = "remote:" + impl_->o.endpoint + " (" + c.backend + ")";
    return c;
  });
}

}  // namespace sdm::hardware::remote
