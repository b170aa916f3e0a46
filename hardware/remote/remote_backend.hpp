#pragma once
// Remote backend: a network client for a microscope PC running `sdm serve` or the Python
// bridge (hardware/bridges/), over the sdm protocol (ZeroMQ REQ/REP, docs/protocol.md).
//
// Failure handling ("lazy pirate"): each request waits for its reply with zmq poll. When
// no reply comes within the timeout the REQ socket is closed and a fresh one made (a REQ
// that missed a reply is stuck) and the call reports StatusCode::timeout; when there is
// no connection (server down, connection lost while waiting) it reports
// StatusCode::disconnected within connect_timeout_s. Messages name the endpoint.
// Idempotent calls (capabilities, status, survey, move_to) are retried `retries` times on
// a fresh socket. iv_sweep is re-asked only under a request key (set_request_key): the
// server then answers the repeat from memory, so a lost reply never becomes two sweeps;
// without a key it is never retried.
// Malformed, oversized or wrong-version replies give StatusCode::error.
#include <memory>
#include <string>

#include "hardware/microscope.hpp"

namespace sdm::hardware {
struct BackendConfig;
}

namespace sdm::hardware::remote {

struct RemoteOptions {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string token;                    ///< shared secret; required for non-loopback endpoints
  double timeout_s = 30.0;              ///< reply deadline once connected
  double survey_timeout_s = 1800.0;     ///< surveys take minutes on an instrument
  double connect_timeout_s = 2.0;       ///< how long to wait for a connection before `disconnected`
  int retries = 1;                      ///< extra attempts for idempotent and keyed calls
  std::size_t max_reply_bytes = std::size_t(1) << 30;
  /// endpoint, token, timeout_s and survey_timeout_s from [backend].
  static RemoteOptions from(const BackendConfig& config);
};

class RemoteBackend : public MicroscopeBackend {
 public:
  /// Throws sdm::Error when the endpoint is not loopback and no token is set, or the
  /// options are out of range. Connects lazily.
  explicit RemoteBackend(RemoteOptions options);
  ~RemoteBackend() override;
  RemoteBackend(const RemoteBackend&) = delete;
  RemoteBackend& operator=(const RemoteBackend&) = delete;

  SurveyImage survey(const SurveySpec& spec) override;
  Position move_to(double x_m, double y_m) override;
  core::IvCurve iv_sweep(const core::Waveform& waveform) override;
  MicroscopeStatus status() override;
  Capabilities capabilities() override;
  /// Sent as the request "key" of survey, move_to and iv_sweep from now on ("" = none).
  void set_request_key(const std::string& key) override;

  /// Round trip of a "hello": the server's self-description (e.g. "sdm serve 0.1.0, replay:…").
  std::string hello();
  const std::string& endpoint() const;
  /// Requests sent and sockets re-created so far (lazy-pirate resets), for tests and logs.
  unsigned long long requests_sent() const;
  unsigned long long socket_resets() const;
  /// Replies the server marked "replayed" (answered from memory, not executed again).
  unsigned long long replies_replayed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sdm::hardware::remote
