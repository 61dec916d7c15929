// Benchmark helpers: the machine's measured sgemm rate (the reference every benchmark
// reports its achieved GFLOP/s against) and a machine description for bench JSON.
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace letter {

/// Measured float32 matrix-multiply rate in GFLOP/s on `device` (n x n x n products,
/// repeated for about `seconds`, after a warm-up), with the current thread setting.
double measure_sgemm_gflops(const torch::Device& device, int64_t n = 2048, double seconds = 1.0);

/// {"cpu": model name, "cores": N, "threads": T, "torch": version, "device": ..., "gpu": name}.
nlohmann::json machine_description(const torch::Device& device);

/// The 1, 5 and 15 minute load averages of /proc/loadavg as "a b c" ("" where unavailable),
/// recorded next to throughput figures measured on a shared machine.
std::string load_average();

}  // namespace letter
