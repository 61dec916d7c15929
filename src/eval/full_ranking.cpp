#include "letter/eval/full_ranking.h"

#include <limits>

#include "letter/common/error.h"
#include "letter/eval/metrics.h"

namespace letter {

torch::Tensor score_all_items(const torch::Tensor& queries, const torch::Tensor& item_vectors) {
  LETTER_CHECK(queries.dim() == 2 && item_vectors.dim() == 2 &&
                   queries.size(1) == item_vectors.size(1),
               "full ranking: queries (B, d) and item vectors (N, d) must share d, got ",
               queries.sizes(), " and ", item_vectors.sizes());
  return torch::matmul(queries, item_vectors.t());
}

void exclude_history_items(torch::Tensor& scores, const Dataset& ds,
                           const std::vector<Sample>& samples, int64_t first) {
  const int64_t B = scores.size(0);
  LETTER_CHECK(first >= 0 && first + B <= static_cast<int64_t>(samples.size()),
               "exclude_history_items: rows [", first, ", ", first + B, ") outside ",
               samples.size(), " samples");
  std::vector<int64_t> rows, cols;
  for (int64_t b = 0; b < B; ++b) {
    const Sample& s = samples[first + b];
    const auto& seq = ds.sequences[s.user];
    for (int32_t p = 0; p < s.pos; ++p) {
      rows.push_back(b);
      cols.push_back(seq[p]);
    }
  }
  if (rows.empty()) return;
  auto opts = torch::TensorOptions().dtype(torch::kInt64);
  auto r = torch::from_blob(rows.data(), {static_cast<int64_t>(rows.size())}, opts).to(scores.device());
  auto c = torch::from_blob(cols.data(), {static_cast<int64_t>(cols.size())}, opts).to(scores.device());
  scores.index_put_({r, c}, -std::numeric_limits<float>::infinity());
}

torch::Tensor top_k_items(const torch::Tensor& scores, int64_t k) {
  LETTER_CHECK(scores.dim() == 2 && k >= 1 && k <= scores.size(1), "top_k_items: k = ", k,
               " must be in [1, N = ", scores.size(1), "] for scores ", scores.sizes());
  // A stable descending sort keeps equal scores in item-id order.
  auto sorted = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
  return sorted.narrow(1, 0, k).contiguous();
}

torch::Tensor full_ranking_ranks(const Dataset& ds, const std::vector<Sample>& samples,
                                 const QueryEncoder& encode, const torch::Tensor& item_vectors,
                                 const FullRankingOptions& options, std::vector<std::vector<int64_t>>* top10) {
  LETTER_CHECK(!samples.empty(), "full ranking: no samples to evaluate");
  LETTER_CHECK(item_vectors.dim() == 2 && item_vectors.size(0) == ds.num_items(),
               "full ranking: item vectors must be (N = ", ds.num_items(), ", d), got ",
               item_vectors.sizes());
  LETTER_CHECK(options.batch_size >= 1, "full ranking: batch_size must be >= 1");
  torch::NoGradGuard no_grad;
  const int64_t U = static_cast<int64_t>(samples.size());
  std::vector<torch::Tensor> ranks;
  for (int64_t first = 0; first < U; first += options.batch_size) {
    const int64_t count = std::min(options.batch_size, U - first);
    HistoryBatch batch = make_history_batch(ds, samples, first, count, options.max_history,
                                            /*pad=*/-1, /*left_pad=*/false);
    auto queries = encode(batch);  // (B, d)
    LETTER_CHECK(queries.dim() == 2 && queries.size(0) == count, "query encoder returned ",
                 queries.sizes(), " for a batch of ", count);
    auto scores = score_all_items(queries, item_vectors);  // (B, N)
    if (options.exclude_history) exclude_history_items(scores, ds, samples, first);
    ranks.push_back(target_ranks(scores, batch.targets).to(torch::kCPU));
    if (top10) {
      auto t = top_k_items(scores, std::min<int64_t>(10, scores.size(1))).to(torch::kCPU).contiguous();
      for (int64_t b = 0; b < t.size(0); ++b)
        top10->emplace_back(t[b].data_ptr<int64_t>(), t[b].data_ptr<int64_t>() + t.size(1));
    }
  }
  return torch::cat(ranks);
}

nlohmann::json evaluate_full_ranking(const Dataset& ds, const std::vector<Sample>& samples,
                                     const QueryEncoder& encode, const torch::Tensor& item_vectors,
                                     const FullRankingOptions& options) {
  std::vector<std::vector<int64_t>> top;
  auto ranks = full_ranking_ranks(ds, samples, encode, item_vectors, options, options.coverage ? &top : nullptr);
  auto j = ranking_metrics(ranks, options.ks, options.bootstrap, options.seed);
  j["exclude_history"] = options.exclude_history;
  if (options.coverage) {
    j["coverage@10"] = coverage_at(top, 10, ds.num_items());
    j["popular10_share@10"] = popular_share_at(top, 10, train_popularity(ds), 0.1);
  }
  return j;
}

nlohmann::json evaluate_last_item_retrieval(const Dataset& ds, const std::vector<Sample>& samples,
                                            const torch::Tensor& vectors, bool cosine,
                                            FullRankingOptions options) {
  LETTER_CHECK(vectors.dim() == 2 && vectors.size(0) == ds.num_items(),
               "item vectors must be (N = ", ds.num_items(), ", d), got ", vectors.sizes());
  LETTER_CHECK(torch::isfinite(vectors).all().item<bool>(), "item vectors contain NaN or Inf");
  auto v = vectors.to(torch::kFloat32);
  if (cosine) v = v / v.norm(2, 1, true).clamp_min(1e-12);
  options.exclude_history = true;
  options.max_history = 1;  // only the last history item is needed
  QueryEncoder encode = [&](const HistoryBatch& b) {
    auto last = b.items.select(1, 0).to(v.device());  // H = 1: the last history item
    return v.index_select(0, last);
  };
  auto j = evaluate_full_ranking(ds, samples, encode, v, options);
  j["protocol"] = cosine ? "last-item cosine" : "last-item dot";
  return j;
}

}  // namespace letter
