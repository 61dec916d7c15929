// Evaluation of the generative recommender (rec module) by beam search (algorithms.md d):
// the beams of every user, expanded to items, give the target's rank; Recall/NDCG with
// bootstrap intervals, LETTER's tuple-level metrics, catalog coverage, the popular share
// (the paper's generation-bias view), the popularity baseline and the collision report.
// Also the validator that train_recommender early-stops on.
//
// Collisions. Codes may give several items the same tuple (the official index.json files
// do: Beauty 24 items in 11 groups, Instruments 48 in 23). Beam search ranks tuples; a
// tuple shared by m items expands to those m items in ascending item id, all with the
// tuple's score (rec::expand_items). An item's rank is its position in that expanded list,
// so a target that shares its tuple with a smaller item id ranks one place lower than the
// tuple: the item-level protocol never counts a collision partner as a hit. LETTER's
// string-level ranks (a hit when the target's tuple is generated) are reported beside them
// as "tuple_level".
//
// Shapes: N items, U users.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/eval/options.h"
#include "letter/rec/recommender.h"
#include "letter/rec/trainer.h"

namespace letter {

/// What rank_samples returns.
struct Ranking {
  torch::Tensor item_ranks;   ///< (U,) int64 0-based item rank of each target, -1 = not returned
  torch::Tensor tuple_ranks;  ///< (U,) int64 rank of the target's tuple among the beams, -1
  std::vector<std::vector<rec::ScoredItem>> top;  ///< per sample, the top-k items (when kept)
  double seconds = 0.0;
};

/// Settings of one ranking pass.
struct RankOptions {
  int64_t beam = 20;
  int64_t top_k = 20;  ///< items kept per user (ranks beyond are -1)
  int64_t batch_size = 256;
  bool renormalize = true;
  bool exclude_history = false;
  bool keep_top = false;  ///< fill Ranking::top
  bool bf16 = false;      ///< bf16 autocast where the device multiplies bfloat16 in hardware
};

/// Beam-search ranks of the targets of `samples` (histories cut to max_history). On the
/// CPU, batches run concurrently, one single-threaded batch per thread.
Ranking rank_samples(rec::Recommender& model, const Dataset& ds, const std::vector<Sample>& samples,
                     int64_t max_history, const RankOptions& opt);

/// Full evaluation on eval.split (valid | test | train): item-level Recall/NDCG at eval.ks
/// with 95% bootstrap intervals (seeded by derive_seed(seed, "eval.bootstrap")), the
/// tuple-level (LETTER) metrics, coverage@10, popular share@10, the popularity baseline,
/// the collision report and timing. Returns metrics.json.
nlohmann::json evaluate_generative(rec::Recommender& model, const Dataset& ds, const EvalOptions& eval,
                                   int64_t max_history, rec::BeamScores beam_scores, uint64_t seed);

/// The validation users scored for early stopping: all of `valid`, or a seeded subset of
/// `n` of them (kept in order) when 0 < n < |valid|.
std::vector<Sample> validation_subset(const std::vector<Sample>& valid, int64_t n, uint64_t seed);

/// The validator train_recommender early-stops on: Recall/NDCG@{1,5,10,20} of `samples`
/// by beam search with `beam` beams. Holds references to ds and samples.
rec::RecValidator generative_validator(const Dataset& ds, const std::vector<Sample>& samples, int64_t max_history,
                                       int64_t beam, int64_t batch_size, rec::BeamScores beam_scores, bool bf16);

}  // namespace letter
