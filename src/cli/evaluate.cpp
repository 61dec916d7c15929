// `letter evaluate`: full-ranking Recall/NDCG of a trained recommender (algorithms.md d);
// writes RUN_DIR/metrics.json (test) or metrics.<split>.json and prints a summary.
#include <iomanip>
#include <ostream>

#include <spdlog/spdlog.h>

#include "app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/dataset.h"
#include "letter/eval/generative.h"
#include "letter/rec/recommender.h"
#include "rec_util.h"

namespace letter::cli {

namespace {

void print_metrics(std::ostream& os, const nlohmann::json& m) {
  auto f = [](double v) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(4) << v;
    return s.str();
  };
  os << "evaluate " << m["dataset"].get<std::string>() << " " << m["split"].get<std::string>() << ": "
     << m["users"] << " users, beam " << m["beam"] << "\n";
  const auto& mm = m["metrics"];
  for (auto it = mm.begin(); it != mm.end(); ++it) {
    if (!it.value().is_number_float()) continue;
    os << "  " << std::left << std::setw(12) << it.key() << f(it.value().get<double>());
    if (mm.contains("ci95") && mm["ci95"].contains(it.key()))
      os << "  [" << f(mm["ci95"][it.key()][0].get<double>()) << ", " << f(mm["ci95"][it.key()][1].get<double>())
         << "]";
    os << "   popularity " << f(m["baseline_popularity"][it.key()].get<double>()) << "\n";
  }
  os << "  coverage@10 " << f(m["coverage@10"].get<double>()) << "   popular10_share@10 "
     << f(m["popular10_share@10"].get<double>()) << "\n";
  os << "  collisions: " << m["collisions"]["items_in_collisions"] << " items in "
     << m["collisions"]["colliding_groups"] << " groups; " << m["collisions"]["targets_on_shared_tuples"]
     << " targets on shared tuples\n";
}

}  // namespace

void register_evaluate(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand(
      "evaluate",
      "Full-ranking Recall/NDCG (eval.split, eval.ks) of a trained recommender; writes RUN_DIR/metrics.json "
      "(metrics.<split>.json for eval.split=valid|train). Without --config, RUN_DIR/config.json is used");
  auto args = std::make_shared<ModelArgs>();
  auto json = std::make_shared<bool>(false);
  add_model_option(sub, *args);
  sub->add_flag("--json", *json, "Print metrics.json instead of a table");
  add_common_options(sub, common);
  sub->callback([&common, args, json] {
    CommonOptions c = with_run_config(common);
    const std::string path = model_path(*args, c);
    RunContext ctx = make_context(c, {}, /*write_config=*/false, /*presets=*/false);
    rec::Recommender model = rec::Recommender::load(path, ctx.device);
    Dataset ds = load_dataset(ctx.config.data);
    nlohmann::json m = evaluate_generative(model, ds, ctx.config.eval, ctx.config.data.max_history,
                                           ctx.config.recommender.beam_scores, static_cast<uint64_t>(ctx.config.seed));
    m["model"] = path;
    m["device"] = ctx.device.str();
    m["threads"] = ctx.threads;
    if (!ctx.out.empty()) {
      ensure_dir(ctx.out);
      const EvalSplit split = ctx.config.eval.split;
      const std::string file = split == EvalSplit::kTest ? "metrics.json" : "metrics." + enum_name(split) + ".json";
      write_json_atomic(join(ctx.out, file), m);
      spdlog::info("wrote {}", join(ctx.out, file));
    }
    if (*json)
      out_stream() << m.dump(2) << "\n";
    else
      print_metrics(out_stream(), m);
  });
}

}  // namespace letter::cli
