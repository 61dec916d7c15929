// Options of the eval module (`eval` config section): the evaluation protocol
// (algorithms.md d; docs/algorithms.md "Evaluation").
#pragma once

#include <cstdint>
#include <vector>

#include "letter/common/options.h"

namespace letter {

/// Which samples are scored (eval.split).
enum class EvalSplit { kValid, kTest, kTrain };
LETTER_ENUM(EvalSplit, {EvalSplit::kValid, "valid"}, {EvalSplit::kTest, "test"}, {EvalSplit::kTrain, "train"})

/// `letter evaluate` and the evaluations inside training: full-ranking metrics
/// (algorithms.md d).
struct EvalOptions {
  EvalSplit split = EvalSplit::kTest;        ///< valid | test | train (the training samples)
  std::vector<int64_t> ks = {1, 5, 10, 20};  ///< cut-offs for Recall@K / NDCG@K
  int64_t beam = 20;                         ///< beam size (paper 20)
  int64_t batch_size = 256;                  ///< users per batch
  int64_t bootstrap = 1000;                  ///< bootstrap resamples for 95% intervals (0 = off)
  /// Exclude items of the user's history from the ranking (LETTER's protocol: no).
  bool exclude_history = false;
  /// Beam search under bf16 autocast where bfloat16 products run in hardware (CUDA; CPUs
  /// with AMX or AVX512-BF16; elsewhere float32): matrix products in bfloat16, softmax and
  /// scores in float32 (docs/algorithms.md 6.5 for its agreement with float32).
  bool bf16 = true;

  template <class V>
  void visit(V& v) {
    v.field("split", split, "evaluation split (train = the training samples)");
    v.field("ks", ks, "metric cut-offs", non_empty_range(1, 100000));
    v.field("beam", beam, "beam size (capped at the number of distinct code tuples)", range(1, 1024));
    v.field("batch_size", batch_size, "users per batch", range(1, 1 << 20));
    v.field("bootstrap", bootstrap, "bootstrap resamples (0 = off)", range(0, 1000000));
    v.field("exclude_history", exclude_history, "exclude history items from the ranking");
    v.field("bf16", bf16, "bf16 autocast for beam search (CUDA; CPUs with AMX or AVX512-BF16)");
  }
};

}  // namespace letter
