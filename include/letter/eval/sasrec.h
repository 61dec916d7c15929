// Evaluation of SASRec (cf module) by full ranking over all items (algorithms.md d):
// the model's query vector of the last max_len history items against every item vector.
// Used by `letter train-cf` for its validation during training and for the final
// valid / test metrics.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/cf/sasrec.h"
#include "letter/cf/trainer.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/eval/options.h"

namespace letter {

/// Full-ranking metrics of `model` on `samples` (histories cut to the model's max_len) at
/// `ks`, with 95% bootstrap intervals when `bootstrap` > 0 (seeded by `seed`), and with
/// `coverage` coverage@10 and the popular-10% share of the top-10 lists.
nlohmann::json evaluate_sasrec(SasRec& model, const Dataset& ds, const std::vector<Sample>& samples,
                               const EvalOptions& eval, const torch::Device& device, int64_t bootstrap,
                               uint64_t seed, bool coverage = true);

/// The validator train_sasrec early-stops on: NDCG@10 on `valid` (eval.batch_size and
/// eval.exclude_history apply; no bootstrap). Holds references to ds and valid.
CfValidator sasrec_validator(const Dataset& ds, const std::vector<Sample>& valid, const EvalOptions& eval,
                             const torch::Device& device);

}  // namespace letter
