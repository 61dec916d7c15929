// Benchmark helpers: the machine's measured sgemm rate (the reference every benchmark
// reports its achieved GFLOP/s against) and a machine description for bench JSON.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace letter {

/// Measured matrix-multiply rate in GFLOP/s on `device` (n x n x n products of `dtype`,
/// repeated for about `seconds`, after a warm-up), with the current thread setting.
double measure_sgemm_gflops(const torch::Device& device, int64_t n = 2048, double seconds = 1.0,
                            torch::ScalarType dtype = torch::kFloat32);

/// {"cpu": model name, "cores": N, "threads": T, "torch": version, "device": ..., "gpu": name}.
nlohmann::json machine_description(const torch::Device& device);

/// A benchmark's command line: "--name value" pairs whose names are the keys of `defaults`
/// (each with its default value). "--help" or "-h" prints `usage` to stdout and exits 0; an
/// unknown name, a missing value or a stray positional argument prints the problem and the
/// usage to stderr and exits 2. When `positional` is given, bare arguments are collected
/// there instead.
std::map<std::string, std::string> parse_bench_args(int argc, char** argv, std::map<std::string, std::string> defaults,
                                                    const std::string& usage,
                                                    std::vector<std::string>* positional = nullptr);

/// The 1, 5 and 15 minute load averages of /proc/loadavg as "a b c" ("" where unavailable),
/// recorded next to throughput figures measured on a shared machine.
std::string load_average();

}  // namespace letter
