// Micro-benchmarks of the hardware layer. Targets (issue "microscope interface"):
//   BM_RemoteSweep251        round trip of a 251-point sweep through `remote` on loopback: median ≤ 2 ms
//   BM_RemoteSurvey256x256x4 a 256×256 × 4-channel survey through `remote`:               median ≤ 50 ms
// The server is an in-process sdm Server (the code `sdm serve` runs) on tcp://127.0.0.1:*
// serving a replay of a synthetic grid, so the figures are the protocol + transport cost.
// Reference points: the same calls on the local replay backend, and the two file readers.
// Run: build/bench/micro/sdm_micro --benchmark_filter='Remote|Replay|Read' (medians over repetitions).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "hardware/igor/ibw.hpp"
#include "hardware/remote/remote_backend.hpp"
#include "hardware/remote/server.hpp"
#include "hardware/replay/dataset.hpp"
#include "hardware/replay/replay_backend.hpp"

namespace {
using namespace sdm;
using namespace sdm::hardware;

std::shared_ptr<const replay::Dataset> grid(int nx, int ny, int points, int channels) {
  auto d = std::make_shared<replay::Dataset>();
  d->source = "bench";
  d->axes = {nx, ny, 0, 0, 1e-8, 1e-8};
  d->bias_v.resize(std::size_t(points));
  for (int k = 0; k < points; ++k) d->bias_v[std::size_t(k)] = -1.5 + 3.0 * k / (points - 1);
  d->spectra.assign(std::size_t(nx) * ny * points, 1e-9);
  for (int c = 0; c < channels; ++c) {
    Channel ch{c == 0 ? "height" : "ch" + std::to_string(c), "m", std::vector<double>(std::size_t(nx) * ny)};
    for (std::size_t i = 0; i < ch.data.size(); ++i) ch.data[i] = 1e-9 * double(i % 977) + c;
    d->channels.push_back(std::move(ch));
  }
  d->structure_channel = "height";
  return d;
}

/// An sdm server on its own thread for the benchmark's lifetime.
struct Served {
  explicit Served(std::shared_ptr<const replay::Dataset> d) {
    remote::ServerOptions o;
    o.bind = "tcp://127.0.0.1:*";
    server = std::make_unique<remote::Server>(std::make_unique<replay::ReplayBackend>(std::move(d)), o);
    thread = std::thread([this] { server->serve(stop, 0.05); });
    remote::RemoteOptions c;
    c.endpoint = server->endpoint();
    client = std::make_unique<remote::RemoteBackend>(c);
  }
  ~Served() {
    client.reset();
    stop = true;
    thread.join();
  }
  std::unique_ptr<remote::Server> server;
  std::atomic<bool> stop{false};
  std::thread thread;
  std::unique_ptr<remote::RemoteBackend> client;
};

std::filesystem::path data_dir() {
  if (const char* e = std::getenv("SDM_SHARED_DATA_DIR")) return e;
  return std::filesystem::path(__FILE__).parent_path() / "../../../shared/data";
}

void BM_RemoteSweep251(benchmark::State& state) {
  Served s(grid(16, 16, 251, 1));
  const core::Waveform w = core::Waveform::triangle(1.5, 251, 1.0);
  s.client->move_to(5e-8, 5e-8);
  for (auto _ : state) benchmark::DoNotOptimize(s.client->iv_sweep(w));
  state.counters["points"] = 251;
}
BENCHMARK(BM_RemoteSweep251)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(7)->ReportAggregatesOnly(true);

void BM_RemoteSurvey256x256x4(benchmark::State& state) {
  Served s(grid(256, 256, 2, 4));
  SurveySpec spec;
  spec.channels = {"height", "ch1", "ch2", "ch3"};
  for (auto _ : state) benchmark::DoNotOptimize(s.client->survey(spec));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * 256 * 256 * 4 * 8);
}
BENCHMARK(BM_RemoteSurvey256x256x4)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(7)->ReportAggregatesOnly(true);

void BM_ReplaySweep251Local(benchmark::State& state) {
  replay::ReplayBackend b(grid(16, 16, 251, 1));
  const core::Waveform w = core::Waveform::triangle(1.5, 251, 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(b.iv_sweep(w));
}
BENCHMARK(BM_ReplaySweep251Local)->Unit(benchmark::kMicrosecond);

void BM_ReplaySurvey256x256x4Local(benchmark::State& state) {
  replay::ReplayBackend b(grid(256, 256, 2, 4));
  SurveySpec spec;
  spec.channels = {"height", "ch1", "ch2", "ch3"};
  for (auto _ : state) benchmark::DoNotOptimize(b.survey(spec));
}
BENCHMARK(BM_ReplaySurvey256x256x4Local)->Unit(benchmark::kMillisecond);

void BM_ReadNsidBeps(benchmark::State& state) {
  const auto p = data_dir() / "BEPS_PTO_50x50.h5";
  if (!std::filesystem::exists(p)) return state.SkipWithError(("missing " + p.string() + " (set SDM_SHARED_DATA_DIR)").c_str());
  for (auto _ : state) benchmark::DoNotOptimize(replay::load_dataset(p));
}
BENCHMARK(BM_ReadNsidBeps)->Unit(benchmark::kMillisecond);

void BM_ReadIbwSurvey(benchmark::State& state) {
  const auto p = data_dir() / "scan_0001.ibw";
  if (!std::filesystem::exists(p)) return state.SkipWithError(("missing " + p.string() + " (set SDM_SHARED_DATA_DIR)").c_str());
  for (auto _ : state) benchmark::DoNotOptimize(igor::read_survey(p));
}
BENCHMARK(BM_ReadIbwSurvey)->Unit(benchmark::kMillisecond);

}  // namespace
