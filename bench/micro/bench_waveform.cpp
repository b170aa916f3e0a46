// Micro-benchmark of waveform generation (a floor for the sweep benchmarks).
#include <benchmark/benchmark.h>

#include "core/waveform.hpp"

static void BM_TriangleWaveform251(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(sdm::core::Waveform::triangle(1.5, 251, 1.0));
}
BENCHMARK(BM_TriangleWaveform251);
