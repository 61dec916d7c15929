#include "letter/common/runtime.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <atomic>
#include <thread>

#include <ATen/Parallel.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/common/torch_compat.h"

namespace letter {

torch::Device resolve_device(const std::string& spec) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "auto") {
    return compat::cuda_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  }
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    int64_t index = 0;
    if (spec.size() > 5) {
      std::string n = spec.substr(5);
      LETTER_USAGE_CHECK(!n.empty() && n.find_first_not_of("0123456789") == std::string::npos,
                         "--device ", spec, ": expected cuda:N with N a device number");
      index = std::stoll(n);
    }
    LETTER_USAGE_CHECK(compat::cuda_available(), "--device ", spec,
                       ": CUDA is not available (this LibTorch ", compat::torch_version(),
                       " build has no CUDA or no GPU is visible); use --device cpu");
    LETTER_USAGE_CHECK(index < compat::cuda_device_count(), "--device ", spec, ": only ",
                       compat::cuda_device_count(), " CUDA device(s) visible");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw UsageError("--device '" + spec + "': expected auto, cpu, cuda or cuda:N");
}

int64_t set_threads(int64_t threads) {
  LETTER_USAGE_CHECK(threads >= 0, "--threads must be >= 0 (0 = all cores), got ", threads);
  int64_t n = threads;
  if (n == 0) n = std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(n));
  return n;
}

std::string executable_path() {
#ifdef __linux__
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len <= 0) return "/proc/self/exe";
  const std::string path(self, static_cast<size_t>(len));
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    return "/proc/self/exe";  // replaced or removed since the start: only the link still works
  return path;
#else
  return "";
#endif
}

void limit_openmp_spinning(char** argv) {
#ifdef __linux__
  if (std::getenv("GOMP_SPINCOUNT") != nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", "20000", 1) != 0) return;
  execv(executable_path().c_str(), argv);
  unsetenv("GOMP_SPINCOUNT");  // exec failed: carry on with the defaults
#else
  (void)argv;
#endif
}

std::string openmp_waiting() {
  if (const char* s = std::getenv("GOMP_SPINCOUNT")) return std::string("GOMP_SPINCOUNT=") + s;
  if (const char* p = std::getenv("OMP_WAIT_POLICY")) return std::string("OMP_WAIT_POLICY=") + p;
  return "default";
}

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

uint64_t derive_seed(uint64_t seed, const std::string& stream) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : stream) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  uint64_t z = seed ^ h;  // SplitMix64 finaliser
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z = z ^ (z >> 31);
  return z >> 1;  // keep it positive as int64 for LibTorch generators
}

void setup_logging(bool quiet, bool verbose) {
  auto logger = spdlog::get("letter");
  if (!logger) {
    logger = spdlog::stderr_color_mt("letter");
    spdlog::set_default_logger(logger);
  }
  logger->set_pattern("[%^%l%$] %v");
  logger->set_level(quiet ? spdlog::level::warn
                          : (verbose ? spdlog::level::debug : spdlog::level::info));
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream ss(line.substr(6));
      double kb = 0;
      ss >> kb;
      return kb / 1024.0;
    }
  }
  return 0.0;
}

Progress::Progress(std::string what, int64_t total, std::string unit, double log_every_s)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total),
      log_every_s_(log_every_s), tty_(stderr_is_tty()) {}

Progress::~Progress() {
  if (tty_ && !finished_ && done_ > 0 && spdlog::default_logger()->should_log(spdlog::level::info))
    std::fputc('\n', stderr);
}

void Progress::update(int64_t n, const std::string& extra) {
  done_ += n;
  double now = timer_.seconds();
  double interval = tty_ ? 0.2 : log_every_s_;
  if (now - last_print_ >= interval) {
    last_print_ = now;
    print(false, extra);
  }
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  print(true, extra);
}

void Progress::print(bool final, const std::string& extra) {
  if (!spdlog::default_logger()->should_log(spdlog::level::info)) return;
  double t = timer_.seconds();
  double rate = t > 0 ? done_ / t : 0.0;
  char buf[256];
  if (final) {
    std::snprintf(buf, sizeof(buf), "%s done: %lld %s in %.1f s (%.1f %s/s)", what_.c_str(),
                  static_cast<long long>(done_), unit_.c_str(), t, rate, unit_.c_str());
  } else {
    double eta = (rate > 0 && total_ > done_) ? (total_ - done_) / rate : 0.0;
    std::snprintf(buf, sizeof(buf), "%s %lld/%lld %s (%.0f%%) %.1f %s/s eta=%.0fs", what_.c_str(),
                  static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(),
                  total_ > 0 ? 100.0 * done_ / total_ : 0.0, rate, unit_.c_str(), eta);
  }
  std::string line = buf;
  if (!extra.empty()) line += " " + extra;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
    std::fflush(stderr);
  } else {
    spdlog::info("{}", line);
  }
}

void for_each_parallel(int64_t count, bool parallel, const std::function<void(int64_t)>& fn) {
  const int64_t workers = parallel ? std::min<int64_t>(torch::get_num_threads(), count) : 1;
  if (workers <= 1 || at::in_parallel_region()) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  const bool grad = at::GradMode::is_enabled();
  const bool inference = c10::InferenceMode::is_enabled();
  std::atomic<int64_t> next{0};
  at::parallel_for(0, workers, 1, [&](int64_t w0, int64_t w1) {
    c10::InferenceMode inference_mode(inference);  // both modes are thread-local
    at::AutoGradMode grad_mode(grad);
    for (int64_t w = w0; w < w1; ++w)
      for (int64_t i = next++; i < count; i = next++) fn(i);
  });
}

}  // namespace letter
