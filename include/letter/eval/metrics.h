// Ranking metrics of the leave-one-out protocol (algorithms.md d): one relevant item per
// user, so Recall@K = hit rate and NDCG@K = 1 / log2(rank + 2) when the target's 0-based
// rank is < K (IDCG = 1). Shared by train-cf (full ranking over scores) and the generative
// recommender (ranks from beam search).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/data/dataset.h"

namespace letter {

/// 0-based rank of each target in full-ranking `scores`.
/// scores: (B, N) float, higher = better; targets: (B,) int64 in [0, N).
/// rank = #items scoring strictly higher + #items scoring equal with a smaller item id
/// (ties broken by item id, deterministic). Returns (B,) int64 on the scores' device.
torch::Tensor target_ranks(const torch::Tensor& scores, const torch::Tensor& targets);

/// Per-user metric values: (U, 2 * |ks|) float64 columns recall@k..., ndcg@k... for the
/// given 0-based ranks (U,) int64, where a negative rank means "not retrieved".
torch::Tensor per_user_metrics(const torch::Tensor& ranks, const std::vector<int64_t>& ks);

/// Mean Recall@K and NDCG@K over users, plus 95% bootstrap intervals over users when
/// bootstrap > 0 (percentile method, `bootstrap` resamples, seeded):
/// {"users": U, "recall@5": .., "ndcg@5": .., ..., "ci95": {"recall@5": [lo, hi], ...}}.
nlohmann::json ranking_metrics(const torch::Tensor& ranks, const std::vector<int64_t>& ks,
                               int64_t bootstrap = 0, uint64_t seed = 0);

/// Item popularity = interactions in the training part of every sequence (all items but
/// the last two, which are the valid and test targets), (N,) int64.
torch::Tensor train_popularity(const Dataset& ds);

/// Catalog coverage of the top-k lists (item ids, best first): distinct recommended items / N.
double coverage_at(const std::vector<std::vector<int64_t>>& top, int64_t k, int64_t num_items);
/// Share of the items in the top-k lists that lie in the most popular `fraction` of the
/// catalog (by `popularity`, ties by smaller item id); the paper's generation-bias view.
double popular_share_at(const std::vector<std::vector<int64_t>>& top, int64_t k, const torch::Tensor& popularity,
                        double fraction = 0.1);

}  // namespace letter
