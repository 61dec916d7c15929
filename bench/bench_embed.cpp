// Benchmark: `letter embed` with all-MiniLM-L6-v2 (or any BERT-family folder) over every item
// of a dataset (default ../shared/data/Beauty: 12,101 items, title + brand + categories).
// Prints one JSON object: items/s, tokens/s, achieved GFLOP/s (2 x non-embedding parameters
// x tokens / time, attention score products not counted), the machine's sgemm GFLOP/s
// measured in the same run (before and after), the load average, and peak RSS.
//
//   build/bench_embed [--data DIR] [--model DIR] [--threads N] [--batch-size N]
//                     [--max-length N] [--device cpu|cuda] [--dtype auto|float32|bfloat16]
//                     [--dump-tokens FILE.jsonl] [--save-npy FILE.npy] [--limit N]
//                     [--tokenize-only 1]
//
// --dump-tokens writes {"item", "text", "ids"} per item and --save-npy the embeddings, for
// scripts/check_minilm_beauty.py (comparison with the Python reference on every item);
// --limit N encodes only the first N items (for quick comparisons of settings);
// --tokenize-only 1 stops after tokenizing (with --dump-tokens: a quick tokenizer check).
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "letter/common/bench.h"
#include "letter/common/options.h"
#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/data/dataset.h"
#include "letter/embed/bert.h"
#include "letter/embed/item_text.h"
#include "letter/io/npy.h"

namespace {

// Process CPU time (all threads), seconds.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

std::vector<double> loadavg() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  in >> a >> b >> c;
  return {a, b, c};
}

}  // namespace

int main(int argc, char** argv) {
  letter::limit_openmp_spinning(argv);  // as the CLI does (runtime.h)
  using namespace letter;
  auto args = parse_bench_args(argc, argv,
                               {{"--data", "../shared/data/Beauty"}, {"--model", ""}, {"--threads", "0"},
                                {"--batch-size", "64"}, {"--max-length", "256"}, {"--device", "cpu"},
                                {"--dtype", "auto"}, {"--dump-tokens", ""}, {"--save-npy", ""},
                                {"--limit", "0"}, {"--tokenize-only", "0"}},
                               "usage: bench_embed [--data DIR] [--model DIR] [--threads N] [--batch-size N] "
                               "[--max-length N] [--device cpu|cuda] [--dtype auto|float32|bfloat16] "
                               "[--dump-tokens FILE] [--save-npy FILE] [--limit N] [--tokenize-only 1]\n");
  try {
    setup_logging(/*quiet=*/true);
    const int64_t threads = set_threads(std::stoll(args["--threads"]));
    torch::Device device = resolve_device(args["--device"]);
    seed_everything(42);
    auto load0 = loadavg();
    const double sgemm_before = measure_sgemm_gflops(device);

    DataOptions dopt;
    dopt.path = args["--data"];
    Dataset ds = load_dataset(dopt);
    EmbedOptions eo;  // default fields: title, brand, categories, description
    embed::ItemTextOptions to;
    to.fields = eo.fields;
    embed::ItemTexts it = embed::build_item_texts(ds.items, ds.num_items(), to);
    LETTER_CHECK(it.missing.empty(), it.missing.size(), " items have no text");
    std::vector<std::string> texts;
    std::vector<int64_t> owner;
    it.flatten(texts, owner);
    const int64_t limit = std::stoll(args["--limit"]);
    if (limit > 0 && limit < static_cast<int64_t>(texts.size())) {  // quick comparisons only
      texts.resize(limit);
      owner.resize(limit);
    }

    embed::SentenceEncoderOptions so;
    so.batch_size = std::stoll(args["--batch-size"]);
    so.max_length = std::stoll(args["--max-length"]);
    so.dtype = parse_enum<EmbedDtype>(args["--dtype"], "--dtype");
    Timer load_t;
    embed::SentenceEncoder enc(embed::resolve_model_folder(args["--model"]), so, device);
    const double load_s = load_t.seconds();

    Timer tok_t;
    embed::TokenizeStats ts;
    auto ids = enc.tokenize(texts, &ts);
    const double tok_s = tok_t.seconds();
    const int64_t n = static_cast<int64_t>(texts.size());
    auto dump = [&] {
      if (args["--dump-tokens"].empty()) return;
      std::ofstream out(args["--dump-tokens"]);
      for (int64_t i = 0; i < n; ++i)
        out << nlohmann::json{{"item", owner[i]}, {"text", texts[i]}, {"ids", ids[i]}}.dump() << "\n";
      LETTER_CHECK(out.good(), "cannot write ", args["--dump-tokens"]);
    };
    if (args["--tokenize-only"] == "1") {
      dump();
      std::cout << nlohmann::json{{"items", n}, {"tokens", ts.tokens}, {"tokenize_s", tok_s},
                                  {"truncated", ts.truncated}, {"unk_words", ts.unk_words}}.dump(2)
                << std::endl;
      return 0;
    }
    const double cpu0 = cpu_seconds();
    embed::EncodeReport rep;
    auto emb = enc.encode_ids(ids, &rep);
    const double fwd_s = rep.forward_seconds;
    const double cpu_s = cpu_seconds() - cpu0;
    const double total_s = tok_s + fwd_s;

    const double sgemm_after = measure_sgemm_gflops(device);
    auto load1 = loadavg();
    const double params = static_cast<double>(enc.config().non_embedding_params());
    const double flop = 2.0 * params * static_cast<double>(ts.tokens);
    const double gflops = flop / total_s / 1e9;
    const double sgemm = 0.5 * (sgemm_before + sgemm_after);

    nlohmann::json j = {
        {"benchmark", "embed"},
        {"data", args["--data"]},
        {"model", enc.folder()},
        {"items", n},
        {"tokens", ts.tokens},
        {"padded_tokens", rep.padded_tokens},
        {"mean_tokens", static_cast<double>(ts.tokens) / n},
        {"truncated", ts.truncated},
        {"batch_size", so.batch_size},
        {"batches", rep.batches},
        {"max_length", so.max_length},
        {"dtype", c10::toString(enc.dtype())},
        {"non_embedding_params", static_cast<int64_t>(params)},
        {"model_load_s", load_s},
        {"tokenize_s", tok_s},
        {"forward_s", fwd_s},
        {"seconds", total_s},
        {"items_per_s", n / total_s},
        {"tokens_per_s", ts.tokens / total_s},
        {"achieved_gflops", gflops},
        {"achieved_gflops_forward_only", flop / fwd_s / 1e9},
        {"forward_cpu_s", cpu_s},
        {"gflops_per_cpu_second", flop / cpu_s / 1e9},
        {"sgemm_gflops_before", sgemm_before},
        {"sgemm_gflops_after", sgemm_after},
        {"sgemm_gflops", sgemm},
        {"fraction_of_sgemm", gflops / sgemm},
        {"loadavg_start", load0},
        {"loadavg_end", load1},
        {"threads", threads},
        {"peak_rss_mib", peak_rss_mib()},
        {"machine", machine_description(device)},
    };
    dump();
    if (!args["--save-npy"].empty()) io::write_npy(args["--save-npy"], emb);
    std::cout << j.dump(2) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
