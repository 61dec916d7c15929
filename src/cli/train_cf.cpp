// `letter train-cf`: train SASRec on the training part of the leave-one-out split and write
// the collaborative item embeddings (items.cf.npy), metrics.json and the checkpoint; or,
// with --eval-vectors, evaluate given item vectors by last-item retrieval (no training).
#include <iomanip>
#include <ostream>

#include <spdlog/spdlog.h>

#include "app.h"
#include "letter/cf/trainer.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/eval/full_ranking.h"
#include "letter/eval/sasrec.h"
#include "letter/io/npy.h"

namespace letter::cli {

namespace {

void print_metrics(std::ostream& os, const nlohmann::json& valid, const nlohmann::json& test,
                   const std::vector<int64_t>& ks) {
  os << std::left << std::setw(7) << "split" << std::setw(8) << "users";
  for (int64_t k : ks) os << std::setw(9) << ("R@" + std::to_string(k));
  for (int64_t k : ks) os << std::setw(9) << ("N@" + std::to_string(k));
  os << "\n";
  auto row = [&](const char* name, const nlohmann::json& m) {
    os << std::setw(7) << name << std::setw(8) << m["users"].get<int64_t>() << std::fixed
       << std::setprecision(4);
    for (int64_t k : ks) os << std::setw(9) << m["recall@" + std::to_string(k)].get<double>();
    for (int64_t k : ks) os << std::setw(9) << m["ndcg@" + std::to_string(k)].get<double>();
    os << "\n";
  };
  row("valid", valid);
  row("test", test);
}

}  // namespace

void register_train_cf(CLI::App& app, CommonOptions& common) {
  struct Args {
    std::string path;
    std::string vectors;
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand(
      "train-cf",
      "Train SASRec on each user's sequence without its last two items (early stopping on "
      "validation NDCG@10); write items.cf.npy (N x d), metrics.json (valid/test full-ranking "
      "Recall/NDCG) and sasrec.pt in --out");
  sub->add_option("path", a->path, "Dataset folder or interaction file (default: config data.path)")
      ->type_name("PATH");
  sub->add_option("--eval-vectors", a->vectors,
                  "Do not train: evaluate the item vectors in FILE (.npy, N x d, row i = item i) "
                  "by last-item cosine retrieval (history excluded) on valid and test")
      ->type_name("FILE");
  add_common_options(sub, common);
  sub->callback([&common, a] {
    std::vector<std::string> sets;
    if (!a->path.empty()) sets.push_back("data.path=" + a->path);
    if (a->vectors.empty())
      LETTER_USAGE_CHECK(!common.out.empty(),
                         "train-cf needs --out RUN_DIR for items.cf.npy, metrics.json and the checkpoint");
    RunContext ctx = make_context(common, sets);
    Dataset ds = load_dataset(ctx.config.data);
    const auto& ks = ctx.config.eval.ks;
    if (!a->vectors.empty()) {
      auto v = io::read_npy(a->vectors);
      Split split = leave_one_out(ds, 1);
      FullRankingOptions fo;
      fo.ks = ks;
      fo.batch_size = ctx.config.eval.batch_size;
      fo.bootstrap = ctx.config.eval.bootstrap;
      fo.seed = derive_seed(static_cast<uint64_t>(ctx.config.seed), "cf.bootstrap");
      auto vd = v.to(ctx.device);
      auto valid = evaluate_last_item_retrieval(ds, split.valid, vd, /*cosine=*/true, fo);
      auto test = evaluate_last_item_retrieval(ds, split.test, vd, /*cosine=*/true, fo);
      print_metrics(out_stream(), valid, test, ks);
      if (!ctx.out.empty())
        write_json_atomic(join(ctx.out, "metrics.json"),
                          {{"vectors", a->vectors},
                           {"dataset", ds.name},
                           {"protocol", "last-item cosine retrieval over all items, history excluded"},
                           {"valid", valid},
                           {"test", test}});
      return;
    }
    const RunEnv env = run_env(ctx);
    const EvalOptions& ev = ctx.config.eval;
    Split split = leave_one_out(ds, ctx.config.cf.max_len);
    CfResult res = train_sasrec(ds, ctx.config.cf, env, sasrec_validator(ds, split.valid, ev, ctx.device));
    const uint64_t boot_seed = derive_seed(env.seed, "cf.bootstrap");
    const auto valid = evaluate_sasrec(res.model, ds, split.valid, ev, ctx.device, ev.bootstrap, boot_seed);
    const auto test = evaluate_sasrec(res.model, ds, split.test, ev, ctx.device, ev.bootstrap, boot_seed);
    spdlog::info("cf best epoch {}: valid ndcg@10={:.5f}; test recall@10={:.5f} ndcg@10={:.5f}", res.best_epoch,
                 valid.value("ndcg@10", -1.0), test.value("recall@10", -1.0), test.value("ndcg@10", -1.0));
    auto items = res.model->item_vectors().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    io::write_npy(join(ctx.out, "items.cf.npy"), items);
    write_json_atomic(
        join(ctx.out, "metrics.json"),
        nlohmann::json{{"model", "SASRec"},
         {"dataset", ds.name},
         {"users", ds.num_users()},
         {"items", ds.num_items()},
         {"protocol",
          {{"split", "leave-one-out: train on s[0..n-3], valid target s[n-2], test target s[n-1]"},
           {"max_len", ctx.config.cf.max_len},
           {"ranking", "full ranking over all items, ties broken by item id"},
           {"exclude_history", ev.exclude_history}}},
         {"valid", valid},
         {"test", test},
         {"best_epoch", res.best_epoch},
         {"best_valid_ndcg@10", res.best_valid_ndcg10},
         {"epochs_run", res.epochs_run},
         {"early_stopped", res.early_stopped},
         {"train_seconds", res.train_seconds},
         {"history", res.history_json()},
         {"cf", env.config["cf"]},
         {"seed", ctx.config.seed}});
    print_metrics(out_stream(), valid, test, ks);
    spdlog::info("wrote {}/items.cf.npy ({} x {}), metrics.json, sasrec.pt", ctx.out, ds.num_items(),
                 ctx.config.cf.hidden);
  });
}

}  // namespace letter::cli
