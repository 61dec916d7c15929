// Benchmark of train-cf: SASRec training throughput (target positions/s and sequences/s)
// and full-ranking evaluation throughput (users/s), with peak RSS and the machine's sgemm
// rate measured in the same run. Prints one JSON object to stdout.
//
//   build/bench_cf [DATA_PATH] [--hidden D] [--loss ce|bce] [--epochs E] [--threads T]
//                  [--batch B] [--device cpu|cuda]
//
// DATA_PATH defaults to ../shared/data/Instruments when it exists, else data/tiny.
#include <cstdlib>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "letter/cf/linear_ce.h"
#include "letter/cf/trainer.h"
#include "letter/common/bench.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/eval/sasrec.h"

using namespace letter;

int main(int argc, char** argv) {
  letter::limit_openmp_spinning(argv);  // as the CLI does (runtime.h)
  try {
    std::string path = path_exists("../shared/data/Instruments") ? "../shared/data/Instruments"
                                                                  : "data/tiny";
    CfOptions cf;
    DataOptions data;
    EvalOptions ev;
    std::vector<std::string> paths;
    auto args = parse_bench_args(argc, argv,
                                 {{"--hidden", std::to_string(cf.hidden)}, {"--loss", enum_name(cf.loss)},
                                  {"--epochs", "2"}, {"--threads", "0"},
                                  {"--batch", std::to_string(cf.batch_size)}, {"--device", "cpu"}},
                                 "usage: bench_cf [DATA_PATH] [--hidden D] [--loss ce|bce] [--epochs E] [--threads T]\n"
                                 "                [--batch B] [--device cpu|cuda]\n",
                                 &paths);
    if (!paths.empty()) path = paths.back();
    cf.hidden = std::stoll(args["--hidden"]);
    cf.loss = parse_enum<CfLoss>(args["--loss"], "--loss");
    cf.batch_size = std::stoll(args["--batch"]);
    const int64_t epochs = std::stoll(args["--epochs"]), threads = std::stoll(args["--threads"]);
    const std::string device_spec = args["--device"];
    setup_logging(/*quiet=*/true);
    set_threads(threads);
    torch::Device device = resolve_device(device_spec);
    data.path = path;
    cf.epochs = epochs;
    cf.eval_every = 1000000;  // evaluate only after the last epoch (timed separately)
    validate_options(cf);

    const double sgemm = measure_sgemm_gflops(device);
    Dataset ds = load_dataset(data);
    Split split = leave_one_out(ds, cf.max_len);
    int64_t positions = 0, windows = 0;
    for (const auto& w : make_cf_windows(split, cf.max_len)) {
      positions += w.len - 1;
      ++windows;
    }
    // Per-batch breakdown of one training step on the first batches of a random order.
    nlohmann::json breakdown;
    {
      torch::manual_seed(1);
      auto windows_v = make_cf_windows(split, cf.max_len);
      std::vector<int64_t> order(windows_v.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
      auto perm = torch::randperm(static_cast<int64_t>(order.size()), torch::kInt64);
      for (size_t i = 0; i < order.size(); ++i) order[i] = perm[i].item<int64_t>();
      SasRec model(ds.num_items(), cf);
      model->to(device);
      torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(cf.lr));
      double t_batch = 0, t_fwd = 0, t_loss = 0, t_bwd = 0, t_step = 0;
      const int64_t nb = std::min<int64_t>(20, static_cast<int64_t>(order.size()) / cf.batch_size);
      int64_t pos = 0;
      for (int64_t k = 0; k < nb; ++k) {
        Timer tt;
        CfBatch b = make_cf_batch(ds, windows_v, order, k * cf.batch_size, cf.batch_size);
        auto inputs = b.inputs.to(device);
        auto idx = b.flat_index.to(device);
        auto targets = b.flat_targets.to(device);
        t_batch += tt.seconds();
        tt.reset();
        auto h = model->forward(inputs).reshape({-1, cf.hidden}).index_select(0, idx);
        t_fwd += tt.seconds();
        tt.reset();
        auto loss = cf_loss(cf.loss, h, targets, model->item_vectors());
        loss.item<double>();
        t_loss += tt.seconds();
        tt.reset();
        opt.zero_grad();
        loss.backward();
        t_bwd += tt.seconds();
        tt.reset();
        opt.step();
        t_step += tt.seconds();
        pos += targets.size(0);
      }
      // The fused CE against the plain logits + cross_entropy, forward + backward of one batch.
      double t_fused = 0, t_plain = 0;
      nlohmann::json chunk_sweep;
      {
        CfBatch b = make_cf_batch(ds, windows_v, order, 0, cf.batch_size);
        auto hh = torch::randn({b.flat_targets.size(0), cf.hidden}, torch::requires_grad());
        auto ee = (torch::randn({ds.num_items(), cf.hidden}) * 0.1).requires_grad_(true);
        for (int rep = 0; rep < 5; ++rep) {
          Timer tt;
          linear_cross_entropy(hh, ee, b.flat_targets).backward();
          t_fused += tt.seconds();
          tt.reset();
          torch::nn::functional::cross_entropy(torch::matmul(hh, ee.t()), b.flat_targets).backward();
          t_plain += tt.seconds();
        }
        t_fused /= 5;
        t_plain /= 5;
        for (int64_t chunk : {16, 32, 64, 128, 256, 1024}) {
          Timer tt;
          for (int rep = 0; rep < 3; ++rep)
            linear_cross_entropy(hh, ee, b.flat_targets, chunk).backward();
          chunk_sweep[std::to_string(chunk)] = 1e3 * tt.seconds() / 3;
        }
      }
      breakdown = {{"batches", nb},
                   {"ce_fused_fwd_bwd_ms", 1e3 * t_fused},
                   {"ce_plain_fwd_bwd_ms", 1e3 * t_plain},
                   {"ce_fused_ms_by_chunk", chunk_sweep},
                   {"positions_per_batch", static_cast<double>(pos) / std::max<int64_t>(1, nb)},
                   {"batch_ms", 1e3 * t_batch / nb},
                   {"forward_ms", 1e3 * t_fwd / nb},
                   {"loss_forward_ms", 1e3 * t_loss / nb},
                   {"backward_ms", 1e3 * t_bwd / nb},
                   {"optimizer_ms", 1e3 * t_step / nb}};
    }
    RunEnv env;
    env.device = device;
    CfResult r = train_sasrec(ds, cf, env, sasrec_validator(ds, split.valid, ev, device));
    double train_s = 0.0;
    for (const auto& e : r.history) train_s += e.seconds;
    // The last epoch's time includes one validation pass: subtract it using the measured rate.
    Timer t;
    evaluate_sasrec(r.model, ds, split.valid, ev, device, 0, 0);
    const double eval_s = t.seconds();
    double pure_train_s = 0.0;
    for (const auto& e : r.history) pure_train_s += positions / e.positions_per_s;
    const double pos_per_s = positions * static_cast<double>(r.history.size()) / pure_train_s;
    // Flop model per target position (forward + backward = 3x forward): the full-softmax
    // output layer 6 N d (CE; 12 d for BCE's two dot products) plus, per block, the five
    // d x d-sized projections (q, k, v, out, ffn1, ffn2 = 6 d^2 MACs) = 36 d^2; attention and
    // padding are not counted.
    const double d = static_cast<double>(cf.hidden), N = static_cast<double>(ds.num_items());
    const double flop_per_pos = (cf.loss == CfLoss::kCe ? 6.0 * N * d : 12.0 * d) +
                                static_cast<double>(cf.blocks) * 36.0 * d * d;
    nlohmann::json j = {
        {"bench", "cf"},
        {"dataset", ds.name},
        {"users", ds.num_users()},
        {"items", ds.num_items()},
        {"train_windows", windows},
        {"train_positions_per_epoch", positions},
        {"loss", enum_name(cf.loss)},
        {"hidden", cf.hidden},
        {"blocks", cf.blocks},
        {"batch_size", cf.batch_size},
        {"max_len", cf.max_len},
        {"epochs", r.history.size()},
        {"train_positions_per_s", pos_per_s},
        {"train_sequences_per_s", windows * static_cast<double>(r.history.size()) / pure_train_s},
        {"train_epoch_s", pure_train_s / static_cast<double>(r.history.size())},
        {"train_gflops_estimate", pos_per_s * flop_per_pos / 1e9},
        {"eval_users", split.valid.size()},
        {"eval_users_per_s", static_cast<double>(split.valid.size()) / eval_s},
        {"eval_s", eval_s},
        {"eval_gflops_estimate", static_cast<double>(split.valid.size()) * 2.0 * N * d / eval_s / 1e9},
        {"sgemm_gflops", sgemm},
        {"peak_rss_mib", peak_rss_mib()},
        {"machine", machine_description(device)},
        {"train_wall_s", train_s},
        {"step_breakdown", breakdown},
    };
    std::cout << j.dump(2) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
