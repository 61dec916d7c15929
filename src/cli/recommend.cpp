// `letter recommend`: JSON Lines in ({"user": id} or {"items": [ids]}, optional "k", "id")
// -> JSON Lines out (top-k item ids, titles, scores); bad lines get an error object and the
// batch goes on (format: rec/serve.h).
#include <fstream>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/dataset.h"
#include "letter/rec/recommender.h"
#include "letter/rec/serve.h"
#include "rec_util.h"

namespace letter::cli {

void register_recommend(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand(
      "recommend",
      "Top-K next items for histories given as JSON Lines ({\"user\": id} or {\"items\": [ids]} per line)");
  struct Args {
    ModelArgs model;
    std::string input = "-", output;
    int64_t k = 10;
  };
  auto a = std::make_shared<Args>();
  add_model_option(sub, a->model);
  sub->add_option("--input", a->input, "JSON Lines requests ('-' = stdin)")->type_name("FILE");
  sub->add_option("--output", a->output, "JSON Lines responses (default: stdout)")->type_name("FILE");
  sub->add_option("-k,--top-k", a->k, "Items per request (a line's \"k\" overrides)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  add_common_options(sub, common);
  sub->callback([&common, a] {
    CommonOptions c = with_run_config(common);
    const std::string path = model_path(a->model, c);
    RunContext ctx = make_context(c, {}, /*write_config=*/false, /*presets=*/false);
    rec::Recommender model = rec::Recommender::load(path, ctx.device);
    Dataset ds = load_dataset(ctx.config.data);
    std::ifstream file;
    std::istream* in = &std::cin;
    if (a->input != "-") {
      LETTER_CHECK(path_exists(a->input), "recommend: input not found: ", a->input);
      file.open(a->input);
      LETTER_CHECK(file.good(), "recommend: cannot read ", a->input);
      in = &file;
    }
    rec::ServeOptions so;
    so.k = a->k;
    so.beam = ctx.config.eval.beam;
    so.batch_size = ctx.config.eval.batch_size;
    so.max_history = ctx.config.data.max_history;
    so.exclude_history = ctx.config.eval.exclude_history;
    so.beam_scores = ctx.config.recommender.beam_scores;
    so.bf16 = ctx.config.eval.bf16;
    rec::RecommendStats st;
    if (a->output.empty()) {
      st = rec::recommend_jsonl(model, ds, so, *in, out_stream());
    } else {
      write_atomic(a->output, [&](std::ofstream& os) { st = rec::recommend_jsonl(model, ds, so, *in, os); },
                   /*binary=*/false);
    }
    spdlog::info("recommend: {} requests, {} answered, {} errors", st.ok + st.errors, st.ok, st.errors);
  });
}

}  // namespace letter::cli
