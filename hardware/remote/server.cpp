#include "hardware/remote/server.hpp"

#include <chrono>
#include <iomanip>
#include <sstream>
#include <zmq_addon.hpp>

#include "core/error.hpp"
#include "hardware/remote/protocol.hpp"

namespace sdm::hardware::remote {

struct Server::Impl {
  Impl(std::unique_ptr<MicroscopeBackend> backend, ServerOptions o)
      : microscope(std::move(backend)), options(std::move(o)), ctx(1), sock(ctx, zmq::socket_type::rep) {}
  Microscope microscope;
  ServerOptions options;
  zmq::context_t ctx;
  zmq::socket_t sock;
  std::string endpoint;
  std::uint64_t handled = 0;
  ProtocolLimits limits;

  std::vector<zmq::message_t> handle(std::vector<zmq::message_t>& frames);
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

std::vector<zmq::message_t> Server::Impl::handle(std::vector<zmq::message_t>& frames) {
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t in_bytes = 0;
  for (const auto& f : frames) in_bytes += f.size();
  nlohmann::json id = nullptr;
  std::string op = "?";
  CallStatus st;
  nlohmann::json result = nlohmann::json::object();
  std::vector<NamedArray> arrays;
  try {
    const Message m = decode(frames, limits, "request");
    id = m.header["id"];
    op = get_string(m.header, "op");
    const std::string token = m.header.contains("token") && m.header["token"].is_string() ? m.header["token"].get<std::string>() : "";
    const nlohmann::json args = m.header.contains("args") ? m.header["args"] : nlohmann::json::object();
    if (!args.is_object()) throw ProtocolError("\"args\" must be an object");
    if (!options.token.empty() && !same_token(token, options.token)) {
      st.code = StatusCode::refused;
      st.message = token.empty() ? "this server requires a token; none was sent" : "wrong token";
    } else if (op == "hello") {
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
      if (args.contains("nx")) spec.nx = int(get_integer(args, "nx"));
      if (args.contains("ny")) spec.ny = int(get_integer(args, "ny"));
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
  ++handled;
  if (options.log) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    options.log("#" + std::to_string(handled) + " id=" + id.dump() + " " + describe(op, st, ms, in_bytes));
  }
  return encode(std::move(h), arrays);
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
