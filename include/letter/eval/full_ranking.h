// Full-ranking evaluation (algorithms.md d): every item of the catalog is scored for every
// user, with one matrix product per user batch (queries (B, d) x item vectors (N, d)^T on
// the device), the target's rank comes from letter::target_ranks (ties broken by item id)
// and the metrics from letter::ranking_metrics. Used by train-cf (SASRec) and by any model
// that scores items by a dot product with a per-user query vector.
//
// History exclusion: LETTER's protocol ranks all N items, the items the user already
// interacted with included (the target may in principle repeat a history item), so
// `exclude_history` is off by default. When on, every item of the user's full sequence
// before the target (s[0..pos), not only the last max_history items) gets score -inf, as
// many other sequential-recommendation papers do; a target that is also a history item
// then ranks after all other items.
//
// Dimension letters: B users in a batch, H history length, d query size, N items.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/data/dataset.h"
#include "letter/data/split.h"

namespace letter {

/// How to run a full-ranking evaluation.
struct FullRankingOptions {
  std::vector<int64_t> ks = {1, 5, 10, 20};  ///< cut-offs for Recall@K / NDCG@K
  int64_t batch_size = 256;                  ///< users per matrix product
  bool exclude_history = false;              ///< see the file comment (LETTER: off)
  int64_t max_history = 50;                  ///< histories given to the encoder keep their last N items
  int64_t bootstrap = 0;                     ///< bootstrap resamples for 95% intervals (0 = off)
  uint64_t seed = 0;                         ///< bootstrap seed
  /// Also report "coverage@10" and "popular10_share@10" of every user's top-10 list (as the
  /// generative evaluation does), from one more sort per batch.
  bool coverage = false;
};

/// Maps a batch of histories to query vectors: batch.items (B, H) int64 item ids,
/// right-padded with -1, batch.lengths (B,) (CPU tensors, built by make_history_batch with
/// left_pad = false) -> (B, d) float on the evaluation device.
using QueryEncoder = std::function<torch::Tensor(const HistoryBatch& batch)>;

/// Scores of all items: queries (B, d) x item_vectors (N, d)^T -> (B, N), on their device.
torch::Tensor score_all_items(const torch::Tensor& queries, const torch::Tensor& item_vectors);

/// Sets scores[b, i] = -inf for every item i in the full history of samples[first + b]
/// (the user's items before the target). scores: (B, N) float, B <= samples - first.
void exclude_history_items(torch::Tensor& scores, const Dataset& ds,
                           const std::vector<Sample>& samples, int64_t first);

/// The k best items per row of `scores` (B, N): (B, k) int64 item ids, best first, ties in
/// item-id order (the order target_ranks uses). k <= N.
torch::Tensor top_k_items(const torch::Tensor& scores, int64_t k);

/// 0-based target ranks (U,) int64 on the CPU for `samples`, scoring all items of
/// item_vectors (N, d) (on the evaluation device) against encode(history batch).
torch::Tensor full_ranking_ranks(const Dataset& ds, const std::vector<Sample>& samples,
                                 const QueryEncoder& encode, const torch::Tensor& item_vectors,
                                 const FullRankingOptions& options, std::vector<std::vector<int64_t>>* top10 = nullptr);

/// full_ranking_ranks + ranking_metrics: {"users", "recall@K", "ndcg@K", ["ci95"]}.
nlohmann::json evaluate_full_ranking(const Dataset& ds, const std::vector<Sample>& samples,
                                     const QueryEncoder& encode, const torch::Tensor& item_vectors,
                                     const FullRankingOptions& options);

/// Item-to-item retrieval with fixed item vectors (no sequence model): the query is the
/// vector of the last history item, scores are cosine similarities (cosine = true; vectors
/// are L2-normalised) or dot products with all items. The history is always excluded here
/// (otherwise the query item itself would rank first under cosine). vectors: (N, d) float.
nlohmann::json evaluate_last_item_retrieval(const Dataset& ds, const std::vector<Sample>& samples,
                                            const torch::Tensor& vectors, bool cosine,
                                            FullRankingOptions options);

}  // namespace letter
