// Subcommands whose implementation is still to come. They parse the shared options and
// validate the config (so scripts fail early on typos), then stop with a clear error:
// never a fake result.
#include "app.h"
#include "letter/common/error.h"

namespace letter::cli {

void register_pending(CLI::App& app, CommonOptions& common) {
  struct Pending {
    const char* name;
    const char* help;
    const char* issue;
  };
  static const Pending pending[] = {
      {"embed", "Item text -> semantic embeddings (items.emb.npy)", "#3"},
      {"train-cf", "Train SASRec; write collaborative item embeddings (items.cf.npy)", "#4"},
      {"train-recommender", "Train the generative recommender on item codes", "#6"},
      {"evaluate", "Full-ranking Recall/NDCG of a trained recommender", "#6"},
      {"recommend", "Top-K next items for histories given as JSON Lines", "#6"},
  };
  for (const auto& p : pending) {
    auto* sub = app.add_subcommand(p.name, std::string(p.help) + " [not implemented yet]");
    add_common_options(sub, common);
    sub->callback([&common, p] {
      make_context(common, {}, /*write_config=*/false);
      LETTER_FAIL("'letter ", p.name, "' is not implemented yet (tracked in issue ", p.issue,
                  "); see README.md for what works today");
    });
  }
}

}  // namespace letter::cli
