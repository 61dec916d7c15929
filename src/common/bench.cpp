#include "letter/common/bench.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "letter/common/runtime.h"
#include "letter/common/torch_compat.h"

namespace letter {

namespace {
void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}
}  // namespace

double measure_sgemm_gflops(const torch::Device& device, int64_t n, double seconds, torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  auto c = torch::mm(a, b);  // warm-up
  sync(device);
  int64_t reps = 0;
  Timer t;
  do {
    c = torch::mm(a, b);
    ++reps;
    sync(device);
  } while (t.seconds() < seconds);
  double s = t.seconds();
  return 2.0 * n * n * n * reps / s / 1e9;
}

nlohmann::json machine_description(const torch::Device& device) {
  std::string cpu = "unknown";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  nlohmann::json j = {{"cpu", cpu},
                      {"cores", std::thread::hardware_concurrency()},
                      {"threads", torch::get_num_threads()},
                      {"torch", compat::torch_version()},
                      {"device", device.str()}};
  return j;
}

std::map<std::string, std::string> parse_bench_args(int argc, char** argv, std::map<std::string, std::string> defaults,
                                                    const std::string& usage, std::vector<std::string>* positional) {
  auto fail = [&](const std::string& what) {
    std::cerr << "error: " << what << "\n" << usage;
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (a.rfind("--", 0) != 0) {
      if (positional == nullptr) fail("unexpected argument '" + a + "'");
      positional->push_back(a);
      continue;
    }
    auto it = defaults.find(a);
    if (it == defaults.end()) fail("unknown option " + a);
    if (i + 1 >= argc) fail("missing value after " + a);
    it->second = argv[++i];
  }
  return defaults;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "";
  return a + " " + b + " " + c;
}

}  // namespace letter
