// Benchmark of the generative recommender: training throughput (samples/s and achieved
// GFLOP/s of the matmuls, fwd + bwd = 3 x forward, on the padded batch shapes actually
// executed) next to the same run's sgemm rate, beam-search evaluation throughput (users/s)
// and peak RSS. Prints one JSON object.
//
//   bench_rec [--data DIR] [--codes FILE] [--device cpu|cuda] [--threads N] [--steps N]
//             [--batch B] [--users U] [--beam W] [--size paper|small] [--bf16 on|off]
//             [--arch t5|causal_t5|decoder] [--set KEY=VALUE[,KEY=VALUE...]]
//
// --bf16 on (default, as recommender.bf16) trains under bfloat16 autocast where the device
// multiplies bfloat16 in hardware (CUDA; CPUs with AMX or AVX512-BF16); off = float32.
// --arch as recommender.arch: t5 trains one sample per prefix, the others every target of a
// window per pass (a batch holds about --batch targets; samples/s counts targets).
// Evaluation runs twice over the same users: float32 ("eval") and under bf16 autocast
// ("eval_bf16", as eval.bf16; float32 where the device has no fast bfloat16), with the share
// of users whose top-10 item sets agree. The model is trained only --steps steps.
// --size small = the CPU-budget model of scripts/run_recommender_cpu.sh (2+2 layers,
// d_model 64, 4 x 16 heads, d_ff 256). --set overrides recommender options after --size, as
// `--set recommender.KEY=VALUE` does for train-recommender (e.g. --set decoder_layers=6,d_model=256).
//
// Run from the repository root. Defaults: data/tiny with codes from its topics when --data is absent; the paper-size
// model (4+4 layers, d_model 128, 6 x 64 heads, d_ff 1024); 20 training steps of 256
// samples; 512 validation users with beam 20.
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "letter/common/bench.h"
#include "letter/common/options.h"
#include "letter/common/reflect.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/common/torch_compat.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/eval/generative.h"
#include "letter/rec/data.h"
#include "letter/rec/loss.h"
#include "letter/rec/recommender.h"
#include "letter/rec/trainer.h"

using namespace letter;

namespace {

// Collision-free codes of data/tiny from its ground truth (topic, subtopic, index).
torch::Tensor tiny_codes(const Dataset& ds, const std::string& dir) {
  auto t = read_json_file(dir + "/tiny.topics.json");
  auto topic = t["item_topic"].get<std::vector<int64_t>>();
  auto sub = t["item_subtopic"].get<std::vector<int64_t>>();
  std::map<std::pair<int64_t, int64_t>, int64_t> next;
  auto codes = torch::empty({ds.num_items(), 3}, torch::kInt64);
  for (int64_t i = 0; i < ds.num_items(); ++i) {
    int64_t raw = std::stoll(ds.item_ids[i]);
    codes[i][0] = topic[raw];
    codes[i][1] = sub[raw];
    codes[i][2] = next[{topic[raw], sub[raw]}]++;
  }
  return codes;
}

}  // namespace

int main(int argc, char** argv) {
  letter::limit_openmp_spinning(argv);  // as the CLI does (runtime.h)
  auto a = parse_bench_args(argc, argv,
                            {{"--data", "data/tiny"}, {"--codes", ""}, {"--device", "cpu"}, {"--threads", "0"},
                             {"--steps", "20"}, {"--batch", "256"}, {"--users", "512"}, {"--beam", "20"},
                             {"--size", "paper"}, {"--bf16", "on"}, {"--arch", "t5"}, {"--set", ""}},
                            "usage: bench_rec [--data DIR] [--codes FILE] [--device cpu|cuda] [--threads N] [--steps N]\n"
                            "                 [--batch B] [--users U] [--beam W] [--size paper|small] [--bf16 on|off]\n"
                            "                 [--arch t5|causal_t5|decoder] [--set KEY=VALUE[,KEY=VALUE...]]\n");
  try {
    setup_logging(true);
    const std::string data = a["--data"];
    const int64_t threads = set_threads(std::stoll(a["--threads"]));
    const torch::Device device = resolve_device(a["--device"]);
    const int64_t steps = std::stoll(a["--steps"]), batch = std::stoll(a["--batch"]);
    const int64_t users = std::stoll(a["--users"]), beam = std::stoll(a["--beam"]);
    const std::string size = a["--size"];

    DataOptions data_opt;
    data_opt.path = data;
    Dataset ds = load_dataset(data_opt);
    const int64_t max_history = data_opt.max_history;
    ItemCodes codes;
    if (!a["--codes"].empty())
      codes = load_item_codes(a["--codes"], ds);
    else
      codes.codes = tiny_codes(ds, data);
    RecommenderOptions ro;
    if (size == "small") {  // the model of scripts/run_recommender_cpu.sh
      ro.encoder_layers = ro.decoder_layers = 2;
      ro.d_model = 64;
      ro.heads = 4;
      ro.d_kv = 16;
      ro.d_ff = 256;
    }
    ro.batch_size = batch;
    for (std::string rest = a["--set"]; !rest.empty();) {
      const auto comma = rest.find(',');
      letter::set_option(ro, rest.substr(0, comma));
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
    letter::check_options(ro);
    ro.arch = parse_enum<rec::Arch>(a["--arch"], "--arch");
    const rec::Arch arch = ro.arch;
    LETTER_USAGE_CHECK(a["--bf16"] == "on" || a["--bf16"] == "off", "--bf16 must be on or off");
    ro.bf16 = a["--bf16"] == "on";
    const bool bf16 = rec::bf16_autocast(ro, device);  // as the trainer decides
    rec::Recommender model(ro, codes, device, 42);
    auto& net = *model.net;
    Split split = leave_one_out(ds, max_history);
    rec::TrainingSet train(ds, model.vocab, arch, max_history);
    auto batches = train.batches(batch, 7);
    torch::optim::AdamW opt(net.parameters(), torch::optim::AdamWOptions(5e-4).weight_decay(0.01));
    auto allowed = rec::softmax_mask(model.vocab, ro.softmax, device);
    if (allowed.defined() && arch == rec::Arch::kDecoder) allowed = allowed.narrow(0, 0, model.vocab.levels());

    double sgemm_before = measure_sgemm_gflops(device, 2048, 1.0);
    auto step = [&](const rec::RecBatch& b) {
      compat::Autocast ac(device, bf16);
      auto [logits, labels] = net.training_logits(b);
      auto loss = rec::ranking_loss(logits.to(torch::kFloat32), labels, ro.tau, allowed);
      opt.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(net.parameters(), 1.0);
      opt.step();
      return loss;
    };
    model.net->train();
    // Warm-up steps (allocator, thread pool), not timed.
    for (int64_t i = 0; i < 2; ++i) step(train.batch(batches[i % batches.size()]).to(device));
    double flops = 0, tokens = 0;
    int64_t samples = 0;
    Timer timer;
    for (int64_t i = 0; i < steps; ++i) {
      auto b = train.batch(batches[(i + 2) % batches.size()]).to(device);
      step(b).item<float>();
      flops += 3.0 * net.forward_flops(b);
      tokens += b.mask.sum().item<double>();
      samples += b.samples;
    }
    if (device.is_cuda()) torch::cuda::synchronize();
    const double train_s = timer.seconds();

    std::vector<Sample> valid(split.valid.begin(),
                              split.valid.begin() + std::min<int64_t>(users, split.valid.size()));
    // Decoding in float32 and under bf16 autocast (eval.bf16), same users; top-10 agreement.
    RankOptions rk;
    rk.beam = beam;
    rk.top_k = 20;
    rk.batch_size = 256;
    rk.keep_top = true;
    Ranking r = rank_samples(model, ds, valid, max_history, rk);
    rk.bf16 = true;
    const bool eval_bf16 = compat::fast_bf16(device);
    Ranking rb = rank_samples(model, ds, valid, max_history, rk);
    int64_t same_top10 = 0;
    for (size_t u = 0; u < valid.size(); ++u) {
      auto ids = [](const std::vector<rec::ScoredItem>& l) {
        std::vector<int64_t> o;
        for (size_t j = 0; j < std::min<size_t>(10, l.size()); ++j) o.push_back(l[j].item);
        std::sort(o.begin(), o.end());
        return o;
      };
      same_top10 += ids(r.top[u]) == ids(rb.top[u]);
    }
    double sgemm_after = measure_sgemm_gflops(device, 2048, 1.0);
    const double sgemm = 0.5 * (sgemm_before + sgemm_after);
    const double gflops = flops / train_s / 1e9;
    int64_t n_params = 0;
    for (const auto& p : net.parameters()) n_params += p.numel();

    nlohmann::json out = {
        {"bench", "rec"},
        {"data", ds.name},
        {"items", ds.num_items()},
        {"model", rec::model_json(arch, net.options())},
        {"parameters", n_params},
        {"train", {{"steps", steps}, {"batch", batch}, {"samples", samples}, {"bf16_autocast", bf16},
                   {"mean_encoder_tokens", tokens / std::max<int64_t>(samples, 1)},
                   {"seconds", train_s}, {"samples_per_s", samples / train_s},
                   {"gflops", gflops}, {"gflop_per_sample", flops / std::max<int64_t>(samples, 1) / 1e9}}},
        {"sgemm_gflops", sgemm},
        {"sgemm_gflops_before_after", {sgemm_before, sgemm_after}},
        {"train_gflops_over_sgemm", gflops / sgemm},
        {"eval", {{"users", static_cast<int64_t>(valid.size())}, {"beam", beam}, {"seconds", r.seconds},
                  {"users_per_s", valid.size() / r.seconds}}},
        {"eval_bf16", {{"bf16_autocast", eval_bf16}, {"seconds", rb.seconds}, {"users_per_s", valid.size() / rb.seconds},
                       {"same_top10_share", static_cast<double>(same_top10) / std::max<size_t>(1, valid.size())}}},
        {"peak_rss_mib", peak_rss_mib()},
        {"threads", threads},
        {"machine", machine_description(device)}};
    std::cout << out.dump(2) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
