// Shared by `letter evaluate` and `letter recommend`: where the trained model and its config
// are found in a run directory.
#pragma once

#include <string>

#include "app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"

namespace letter::cli {

/// Options of the commands that use a trained recommender.
struct ModelArgs {
  std::string model;  ///< --model FILE (default RUN_DIR/recommender.pt)
};

/// Adds --model to `sub`.
inline void add_model_option(CLI::App* sub, ModelArgs& a) {
  sub->add_option("--model", a.model, "Trained recommender (default: RUN_DIR/recommender.pt)")
      ->type_name("FILE");
}

/// Without --config, a run directory's config.json (the training run's resolved config) is
/// the base config, so `--out RUN_DIR` alone evaluates with the training settings.
inline CommonOptions with_run_config(CommonOptions c) {
  if (c.config.empty() && !c.out.empty() && path_exists(join(c.out, "config.json")))
    c.config = join(c.out, "config.json");
  return c;
}

/// The model file: --model, else RUN_DIR/recommender.pt.
inline std::string model_path(const ModelArgs& a, const CommonOptions& c) {
  if (!a.model.empty()) return a.model;
  LETTER_USAGE_CHECK(!c.out.empty(), "give --model FILE or --out RUN_DIR (holding recommender.pt)");
  return join(c.out, "recommender.pt");
}

}  // namespace letter::cli
