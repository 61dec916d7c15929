// `letter train-tokenizer`: item embeddings (+ CF vectors) -> collision-free item codes.
#include <ostream>

#include <spdlog/spdlog.h>

#include "app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/dataset.h"
#include "letter/quant/report.h"
#include "letter/quant/tokenizer.h"

namespace letter::cli {

void register_train_tokenizer(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand(
      "train-tokenizer",
      "Train the RQ-VAE tokenizer (LETTER/TIGER) or residual k-means; write collision-free item "
      "codes (codes.json, codes.npy), tokenizer.pt, stats.json and code_freq.svg to --out");
  auto sc = std::make_shared<Shortcuts>();
  sc->add(sub, "--method", "tokenizer.method", "letter (default) | tiger | rkmeans", "METHOD");
  sc->add(sub, "--preset", "tokenizer.preset",
          "Schedule preset, replacing the config file's schedule (--set still wins): quick = 1,000 epochs, 20 "
          "warm-up, lr 6e-3, cosine (tiger: 800 epochs at lr 4e-3); paper = 10,000 epochs at constant lr 1e-3",
          "quick|paper");
  sc->add(sub, "--embeddings", "tokenizer.embeddings", "Item embeddings .npy", "FILE");
  sc->add(sub, "--cf", "tokenizer.cf", "CF vectors .npy", "FILE");
  add_common_options(sub, common);
  sub->callback([&common, sc] {
    RunContext ctx = make_context(common, sc->sets());
    const Config& cfg = ctx.config;
    quant::TokenizerRunEnv env;
    static_cast<RunEnv&>(env) = run_env(ctx);
    if (!cfg.data.path.empty()) {
      Dataset ds = load_dataset(cfg.data);
      env.item_ids = ds.item_ids;
      env.title = ds.name;
    }
    auto inputs = quant::load_inputs(quant::effective_options(cfg.tokenizer), ctx.out);
    if (!env.item_ids.empty())
      LETTER_CHECK(static_cast<int64_t>(env.item_ids.size()) == inputs.embeddings.size(0), "dataset ",
                   env.title, " has ", env.item_ids.size(), " items but ", inputs.embeddings_path, " has ",
                   inputs.embeddings.size(0), " rows: use the embeddings of this dataset");
    auto result = quant::run_tokenizer(cfg.tokenizer, inputs, env);
    quant::print_report(out_stream(), result.stats);
    if (!ctx.out.empty())
      spdlog::info("wrote {}/codes.json, codes.npy, tokenizer.pt, stats.json, code_freq.svg", ctx.out);
  });
}

}  // namespace letter::cli
