#pragma once
// Serves any MicroscopeBackend over the sdm protocol on a ZeroMQ REP socket: what
// `sdm serve` runs, so campaigns can drive a twin or a replay in a separate process
// exactly as they drive an instrument. Every call goes through the Microscope wrapper,
// so backend failures travel to the client as their StatusCode with the message.
// Bad requests (not JSON, wrong protocol version, arrays not matching their frames,
// oversized, unknown op) get an error reply and the server carries on; a wrong or
// missing token gets `refused`. A mutating request with a "key" is executed at most once:
// a repeat of the same keyed request gets the remembered reply (docs/protocol.md).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hardware/microscope.hpp"

namespace sdm::hardware::remote {

struct ServerOptions {
  /// ZeroMQ endpoint; "tcp://127.0.0.1:*" picks a free port (see Server::endpoint()).
  std::string bind = "tcp://127.0.0.1:5555";
  /// Shared secret every request must carry. Required when `bind` is not loopback.
  std::string token;
  std::size_t max_request_bytes = 16u << 20;
  /// Called with one line per handled request when set (sdm serve --verbose).
  std::function<void(const std::string&)> log;
  /// Text returned by "hello", e.g. "sdm serve 0.1.0".
  std::string server_name = "sdm";
  /// Replies of keyed mutating calls kept for repeats (reply_memory.hpp): how many, and
  /// how many bytes at most.
  std::size_t remembered_replies = 256;
  std::size_t remembered_bytes = std::size_t(256) << 20;
};

class Server {
 public:
  /// Binds at once. Throws sdm::Error when the bind fails (address in use, bad endpoint)
  /// or a non-loopback bind has no token.
  Server(std::unique_ptr<MicroscopeBackend> backend, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The endpoint actually bound (ZMQ_LAST_ENDPOINT), e.g. "tcp://127.0.0.1:41235".
  const std::string& endpoint() const;
  /// Handles requests until `stop` becomes true (checked every poll_s).
  void serve(const std::atomic<bool>& stop, double poll_s = 0.1);
  /// Waits up to timeout_s for one request and answers it; returns whether one came.
  bool serve_one(double timeout_s);
  std::uint64_t requests_handled() const;
  /// Keyed repeats answered from memory instead of being executed again.
  std::uint64_t replies_replayed() const;
  Microscope& microscope();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sdm::hardware::remote
