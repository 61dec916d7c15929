// Tokenizer training throughput (issue #5, "Speed"): seconds per epoch with the diversity
// cluster refresh included, and the achieved matmul GFLOP/s next to the sgemm rate measured
// in the same process, for
//   (a) 12,101 x 4096 random inputs with the paper layers [2048, ..., 64], and
//   (b) 12,101 x 384 random inputs with the proportionate default layers [192, 96],
// method letter (Sinkhorn at the last level, alpha .02 with 32-d random CF vectors,
// beta 1e-4 with 10 clusters refreshed every epoch), batch 1024. With --dtype bfloat16 the
// encoder/decoder products run in bfloat16 (tokenizer.dtype) and the JSON adds the bfloat16
// GEMM rate of the same process next to the float32 one.
//
// Usage: bench_tokenizer [--case a|b|all] [--epochs N] [--threads T] [--items N]
//                        [--device cpu|cuda] [--dtype float32|bfloat16]
// Prints one JSON object.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "letter/common/bench.h"
#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/quant/rqvae.h"
#include "letter/quant/tokenizer.h"

using namespace letter;

namespace {

struct Rates {
  double sgemm = 0;  ///< float32 GEMM GFLOP/s
  double gemm = 0;   ///< GEMM GFLOP/s in the MLP dtype (= sgemm for float32)
};

nlohmann::json run_case(const std::string& name, int64_t n, int64_t dim, int64_t epochs, const torch::Device& dev,
                        const std::string& dtype, const Rates& rates) {
  TokenizerOptions t;
  t.epochs = epochs;
  t.dtype = parse_enum<MlpDtype>(dtype, "--dtype");
  auto gen = at::detail::createCPUGenerator(1);
  quant::TokenizerInputs in;
  in.embeddings = torch::randn({n, dim}, gen) * 0.05;
  in.cf = torch::randn({n, 32}, gen);
  in.embeddings_path = "random";
  in.cf_path = "random";
  quant::RqvaeTrainer tr(quant::effective_options(t), in, dev, 42);
  const double init_s = tr.initialize_codebooks();
  std::vector<double> times, cluster, cpu;  // cpu: process CPU seconds (all threads)
  nlohmann::json losses = nlohmann::json::array(), phases = nlohmann::json::array();
  // LETTER_PROFILE=FILE: a Chrome trace of the second epoch (LibTorch's op profiler).
  const char* profile = std::getenv("LETTER_PROFILE");
  for (int64_t e = 0; e < epochs; ++e) {
    std::unique_ptr<torch::autograd::profiler::RecordProfile> prof;
    if (profile != nullptr && e == 1) prof = std::make_unique<torch::autograd::profiler::RecordProfile>(std::string(profile));
    const std::clock_t c0 = std::clock();
    auto st = tr.train_epoch(e);
    cpu.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    prof.reset();
    times.push_back(st.seconds);
    cluster.push_back(st.cluster_seconds);
    losses.push_back({{"loss", st.loss}, {"recon", st.recon}, {"quant", st.quant}, {"cf", st.cf},
                      {"diversity", st.diversity}});
    phases.push_back({{"cluster_refresh", st.cluster_seconds},
                      {"forward", st.forward_seconds},
                      {"sinkhorn", st.sinkhorn_seconds},
                      {"backward", st.backward_seconds},
                      {"optimizer", st.optimizer_seconds}});
  }
  // The first epoch warms up allocators and thread pools; report the mean of the rest.
  double sum = 0, csum = 0;
  const size_t skip = times.size() > 1 ? 1 : 0;
  for (size_t i = skip; i < times.size(); ++i) {
    sum += times[i];
    csum += cluster[i];
  }
  const double per_epoch = sum / static_cast<double>(times.size() - skip);
  const double flops = tr.flops_per_epoch();
  return {{"case", name},
          {"items", n},
          {"input_dim", dim},
          {"layers", tr.model()->options.layers},
          {"epochs_timed", times.size() - skip},
          {"epoch_seconds", times},
          {"epoch_cpu_seconds", cpu},
          {"seconds_per_epoch", per_epoch},
          {"cluster_refresh_seconds_per_epoch", csum / static_cast<double>(times.size() - skip)},
          {"codebook_init_seconds", init_s},
          {"gflop_per_epoch", flops / 1e9},
          {"achieved_gflops", flops / per_epoch / 1e9},
          {"dtype", dtype},
          {"sgemm_gflops", rates.sgemm},
          {"fraction_of_sgemm", flops / per_epoch / 1e9 / rates.sgemm},
          {"gemm_gflops_in_dtype", rates.gemm},
          {"fraction_of_gemm_in_dtype", flops / per_epoch / 1e9 / rates.gemm},
          {"train_loss", losses},  // per epoch: total and its terms (b.4-b.6)
          {"phase_seconds", phases}};
}

}  // namespace

int main(int argc, char** argv) {
  letter::limit_openmp_spinning(argv);  // as the CLI does (runtime.h)
  const std::string usage =
      "usage: bench_tokenizer [--case a|b|all] [--epochs N] [--threads T] [--items N]\n"
      "                       [--device cpu|cuda] [--dtype float32|bfloat16]\n";
  auto args = parse_bench_args(argc, argv,
                               {{"--case", "all"}, {"--epochs", "4"}, {"--threads", "0"}, {"--items", "12101"},
                                {"--device", "cpu"}, {"--dtype", "float32"}},
                               usage);
  const std::string which = args["--case"];
  const int64_t epochs = std::stoll(args["--epochs"]), threads = std::stoll(args["--threads"]);
  const int64_t items = std::stoll(args["--items"]);
  setup_logging(true);
  set_threads(threads);
  const std::string dtype = args["--dtype"];
  if (which != "a" && which != "b" && which != "all") {
    std::cerr << "bench_tokenizer: --case must be a, b or all\n" << usage;
    return 2;
  }
  torch::ScalarType low = torch::kFloat32;
  try {
    low = quant::mlp_dtype(parse_enum<MlpDtype>(dtype, "--dtype"));
  } catch (const UsageError& e) {
    std::cerr << "bench_tokenizer: --dtype: " << e.what() << "\n" << usage;
    return 2;
  }
  const torch::Device dev = resolve_device(args["--device"]);
  nlohmann::json out;
  out["bench"] = "tokenizer";
  out["load_before"] = load_average();
  Rates before{measure_sgemm_gflops(dev), 0};
  before.gemm = low == torch::kFloat32 ? before.sgemm : measure_sgemm_gflops(dev, 2048, 1.0, low);
  nlohmann::json cases = nlohmann::json::array();
  if (which == "a" || which == "all")
    cases.push_back(run_case("a: 4096-d, paper layers", items, 4096, epochs, dev, dtype, before));
  if (which == "b" || which == "all")
    cases.push_back(run_case("b: 384-d, default layers", items, 384, epochs, dev, dtype, before));
  const double sgemm_after = measure_sgemm_gflops(dev);
  out["cases"] = cases;
  out["sgemm_gflops_before"] = before.sgemm;
  out["sgemm_gflops_after"] = sgemm_after;
  if (low != torch::kFloat32) {
    out["bf16_gemm_gflops_before"] = before.gemm;
    out["bf16_gemm_gflops_after"] = measure_sgemm_gflops(dev, 2048, 1.0, low);
  }
  out["load_after"] = load_average();
  out["peak_rss_mib"] = peak_rss_mib();
  out["machine"] = machine_description(dev);
  std::cout << out.dump(2) << std::endl;
  return 0;
}
