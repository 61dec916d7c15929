// `letter train-recommender`: train the generative recommender on item codes
// (algorithms.md c); writes recommender.pt (best model), recommender.last.pt (for --resume)
// and train_summary.json into the run directory.
#include <spdlog/spdlog.h>

#include "app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/eval/generative.h"
#include "letter/rec/trainer.h"

namespace letter::cli {

void register_train_recommender(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand(
      "train-recommender",
      "Train the generative recommender on item codes (recommender.codes: index.json or codes.npy; "
      "default RUN_DIR/codes.json); writes RUN_DIR/recommender.pt");
  auto sc = std::make_shared<Shortcuts>();
  sc->add(sub, "--preset", "recommender.preset",
          "Schedule preset (--set still wins): quick = decoder-only model, all positions per pass, lr 2e-3, 25 "
          "epochs of batches of 256 (converges on a CPU in about an hour); paper = LETTER-TIGER's T5 schedule "
          "(lr 5e-4, batch 1024, 200 epochs)",
          "quick|paper");
  sc->add(sub, "--arch", "recommender.arch", "t5 | causal_t5 | decoder", "ARCH");
  sc->add(sub, "--codes", "recommender.codes", "Item codes: index.json or codes.npy", "FILE");
  add_common_options(sub, common);
  sub->callback([&common, sc] {
    LETTER_USAGE_CHECK(!common.out.empty(), "train-recommender needs --out RUN_DIR for the model and checkpoints");
    RunContext ctx = make_context(common, sc->sets(), /*write_config=*/!common.resume);
    Timer timer;
    Dataset ds = load_dataset(ctx.config.data);
    const std::string codes_path =
        ctx.config.recommender.codes.empty() ? join(ctx.out, "codes.json") : ctx.config.recommender.codes;
    ItemCodes codes = load_item_codes(codes_path, ds);
    nlohmann::json coll = collision_stats(codes.codes).to_json();
    spdlog::info("codes {}: {} items, {} levels, {} distinct tuples ({} items share a tuple in {} groups)",
                 codes_path, coll["items"].get<int64_t>(), codes.levels(), coll["distinct_tuples"].get<int64_t>(),
                 coll["items_in_collisions"].get<int64_t>(), coll["colliding_groups"].get<int64_t>());
    rec::Recommender model(ctx.config.recommender, codes, ctx.device, static_cast<uint64_t>(ctx.config.seed));
    const RunEnv env = run_env(ctx);
    const auto& ro = ctx.config.recommender;
    const int64_t max_history = ctx.config.data.max_history;
    const Split split = leave_one_out(ds, max_history);
    const std::vector<Sample> valid = validation_subset(split.valid, ro.valid_users, derive_seed(env.seed, "rec.valid"));
    rec::TrainResult res =
        rec::train_recommender(model, ro, max_history, ds, env,
                               generative_validator(ds, valid, max_history, ro.beam, ctx.config.eval.batch_size,
                                                    ro.beam_scores, ctx.config.eval.bf16));
    nlohmann::json summary = res.to_json();
    summary["valid_users"] = static_cast<int64_t>(valid.size());
    summary["codes"] = codes_path;
    summary["collisions"] = coll;
    summary["device"] = ctx.device.str();
    summary["threads"] = ctx.threads;
    summary["wall_seconds"] = timer.seconds();
    write_json_atomic(join(ctx.out, "train_summary.json"), summary);
    if (ctx.resume) write_json_atomic(join(ctx.out, "config.json"), ctx.config.to_json());
    spdlog::info("train-recommender: best epoch {} (valid ndcg@10 {:.4f}); wrote {}", res.best_epoch,
                 res.best_ndcg10, join(ctx.out, "recommender.pt"));
  });
}

}  // namespace letter::cli
