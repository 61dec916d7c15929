// Device, threads, seeds, logging and progress: the run-wide state every subcommand sets up
// the same way (design.md, "Conventions").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace letter {

/// Where and how a library stage runs: what the CLI hands every training entry point
/// besides the stage's own options (style: module options + a small run context, never the
/// whole config).
struct RunEnv {
  torch::Device device{torch::kCPU};
  uint64_t seed = 42;     ///< the run's master seed (sub-seeds: derive_seed)
  std::string out;        ///< run directory for checkpoints and artifacts ("" = none)
  bool resume = false;    ///< continue from the last checkpoint in `out`
  nlohmann::json config;  ///< the resolved config, stored in checkpoints (may be empty)
};

/// Resolves "auto" | "cpu" | "cuda" | "cuda:N". auto = cuda:0 when available, else cpu.
/// Asking for CUDA on a machine or build without it throws with the reason.
torch::Device resolve_device(const std::string& spec);

/// Sets LibTorch's intra-op threads; 0 = all cores. Returns the count in effect.
int64_t set_threads(int64_t threads);

/// OpenMP worker threads spin between parallel regions before they sleep (libgomp: 300,000
/// spins). When another process shares the cores, that spinning takes the time slices the
/// working threads need, and many-small-op training slows by 3x and more. A 20,000-spin
/// limit keeps the idle-machine speed (bench_tokenizer case b, 2 threads: same s/epoch
/// within noise) and halves the loss on a busy machine. libgomp reads GOMP_SPINCOUNT only
/// when it loads, before main(), so this sets it and re-executes the program once
/// (executable_path(), same pid, arguments and environment otherwise). Does nothing when
/// the user set GOMP_SPINCOUNT or OMP_WAIT_POLICY, or off Linux; returns only when no
/// re-execution happened.
void limit_openmp_spinning(char** argv);

/// The running program's file, resolved from /proc/self/exe (so that a re-executed process
/// keeps its name in ps, top and pkill instead of becoming "exe"); "/proc/self/exe" itself
/// when it cannot be resolved or the file was replaced since the start; "" off Linux.
std::string executable_path();

/// "GOMP_SPINCOUNT=N", "OMP_WAIT_POLICY=P" or "default": the OpenMP waiting in effect.
std::string openmp_waiting();

/// Seeds LibTorch's CPU and CUDA generators.
void seed_everything(uint64_t seed);

/// A sub-seed for a named stream ("shuffle", "init", ...) derived from the master seed
/// (SplitMix64 over the seed and an FNV-1a hash of the name): never from the clock.
uint64_t derive_seed(uint64_t seed, const std::string& stream);

/// Configures spdlog: "[letter] level message" on stderr; quiet = warnings and errors only.
void setup_logging(bool quiet, bool verbose = false);

/// Whether progress output goes to a terminal (then progress redraws one line).
bool stderr_is_tty();

/// Peak resident set size of this process in MiB (from /proc/self/status VmHWM).
double peak_rss_mib();

/// Runs fn(0), ..., fn(count - 1). On the CPU with several intra-op threads, the calls run
/// concurrently, one per thread, each single-threaded (BLAS and ATen run serially inside a
/// parallel region): for work made of many small matrix products (small models, short
/// sequences) independent batches scale where a multithreaded BLAS does not. Indices are
/// handed out in increasing order from a shared counter, so put the largest work first.
/// The caller's grad and inference modes hold inside; fn must only write disjoint outputs.
/// Otherwise (one thread, or `parallel` false, e.g. on a GPU) the calls run in order.
void for_each_parallel(int64_t count, bool parallel, const std::function<void(int64_t)>& fn);

/// Wall-clock stopwatch.
class Timer {
 public:
  Timer() : start_(std::chrono::steady_clock::now()) {}
  /// Seconds since construction or the last reset().
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void reset() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// Progress over a known number of units (items, samples, steps): redraws one line on a
/// TTY, logs a key=value line every `log_every_s` seconds otherwise; silent when quiet
/// logging is on. Thread-compatible, not thread-safe.
class Progress {
 public:
  /// `what` names the work ("embed"), `unit` the counted thing ("items").
  Progress(std::string what, int64_t total, std::string unit, double log_every_s = 10.0);
  ~Progress();
  /// Adds `n` finished units; `extra` is appended to the line ("loss=0.31").
  void update(int64_t n, const std::string& extra = "");
  /// Prints the final line (done, total time, rate).
  void finish(const std::string& extra = "");

 private:
  void print(bool final, const std::string& extra);
  std::string what_, unit_;
  int64_t total_, done_ = 0;
  double log_every_s_, last_print_ = -1e9;
  Timer timer_;
  bool tty_, finished_ = false;
};

}  // namespace letter
