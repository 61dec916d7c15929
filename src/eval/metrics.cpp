#include "letter/eval/metrics.h"

#include <algorithm>
#include <cmath>

#include "letter/common/error.h"

namespace letter {

torch::Tensor target_ranks(const torch::Tensor& scores, const torch::Tensor& targets) {
  LETTER_CHECK(scores.dim() == 2, "scores must be (B, N), got ", scores.sizes());
  LETTER_CHECK(targets.dim() == 1 && targets.size(0) == scores.size(0),
               "targets must be (B,) with B = ", scores.size(0), ", got ", targets.sizes());
  auto t = targets.to(scores.device(), torch::kInt64);
  auto target_score = scores.gather(1, t.unsqueeze(1));  // (B, 1)
  auto higher = (scores > target_score).sum(1);
  auto ids = torch::arange(scores.size(1), torch::TensorOptions().dtype(torch::kInt64).device(scores.device()));
  auto tied_before = ((scores == target_score) & (ids.unsqueeze(0) < t.unsqueeze(1))).sum(1);
  return (higher + tied_before).to(torch::kInt64);
}

torch::Tensor per_user_metrics(const torch::Tensor& ranks, const std::vector<int64_t>& ks) {
  LETTER_CHECK(ranks.dim() == 1, "ranks must be (U,), got ", ranks.sizes());
  LETTER_CHECK(!ks.empty(), "no metric cut-offs given");
  auto r = ranks.to(torch::kCPU, torch::kFloat64);
  auto found = ranks.to(torch::kCPU) >= 0;
  auto gain = torch::where(found, 1.0 / torch::log2(r + 2.0), torch::zeros_like(r));
  std::vector<torch::Tensor> cols;
  for (int64_t k : ks) cols.push_back((found & (r < k)).to(torch::kFloat64));
  for (int64_t k : ks) cols.push_back(torch::where(found & (r < k), gain, torch::zeros_like(r)));
  return torch::stack(cols, 1);
}

nlohmann::json ranking_metrics(const torch::Tensor& ranks, const std::vector<int64_t>& ks,
                               int64_t bootstrap, uint64_t seed) {
  const int64_t users = ranks.size(0);
  LETTER_CHECK(users > 0, "no users to evaluate");
  auto m = per_user_metrics(ranks, ks);  // (U, C)
  auto mean = m.mean(0);
  std::vector<std::string> names;
  for (int64_t k : ks) names.push_back("recall@" + std::to_string(k));
  for (int64_t k : ks) names.push_back("ndcg@" + std::to_string(k));
  nlohmann::json out = {{"users", users}};
  for (size_t c = 0; c < names.size(); ++c) out[names[c]] = mean[c].item<double>();
  if (bootstrap > 0) {
    auto gen = at::detail::createCPUGenerator(seed);
    std::vector<torch::Tensor> means;
    const int64_t chunk = std::max<int64_t>(1, (1 << 24) / users);
    for (int64_t done = 0; done < bootstrap; done += chunk) {
      int64_t b = std::min(chunk, bootstrap - done);
      auto idx = torch::randint(0, users, {b, users}, gen, torch::kInt64);
      means.push_back(m.index_select(0, idx.view(-1)).view({b, users, -1}).mean(1));
    }
    auto all = torch::cat(means, 0);  // (bootstrap, C)
    auto sorted = std::get<0>(all.sort(0));
    auto at = [&](double q) {
      int64_t i = static_cast<int64_t>(std::floor(q * (bootstrap - 1) + 0.5));
      return sorted[std::min(i, bootstrap - 1)];
    };
    auto lo = at(0.025), hi = at(0.975);
    nlohmann::json ci;
    for (size_t c = 0; c < names.size(); ++c)
      ci[names[c]] = {lo[c].item<double>(), hi[c].item<double>()};
    out["ci95"] = ci;
    out["bootstrap"] = bootstrap;
  }
  return out;
}

torch::Tensor train_popularity(const Dataset& ds) {
  auto pop = torch::zeros({ds.num_items()}, torch::kInt64);
  auto p = pop.accessor<int64_t, 1>();
  for (const auto& s : ds.sequences)
    for (size_t j = 0; j + 2 < s.size(); ++j) ++p[s[j]];
  return pop;
}

double coverage_at(const std::vector<std::vector<int64_t>>& top, int64_t k, int64_t num_items) {
  std::vector<char> seen(num_items, 0);
  int64_t distinct = 0;
  for (const auto& list : top)
    for (int64_t j = 0; j < std::min<int64_t>(k, static_cast<int64_t>(list.size())); ++j)
      if (!seen[list[j]]) {
        seen[list[j]] = 1;
        ++distinct;
      }
  return num_items > 0 ? static_cast<double>(distinct) / num_items : 0.0;
}

double popular_share_at(const std::vector<std::vector<int64_t>>& top, int64_t k,
                        const torch::Tensor& popularity, double fraction) {
  const int64_t n = popularity.size(0);
  auto pop = popularity.to(torch::kCPU, torch::kInt64).contiguous();
  auto pa = pop.accessor<int64_t, 1>();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return pa[a] > pa[b]; });
  const int64_t head = static_cast<int64_t>(std::ceil(fraction * n));
  std::vector<char> popular(n, 0);
  for (int64_t r = 0; r < head; ++r) popular[order[r]] = 1;
  int64_t total = 0, in_head = 0;
  for (const auto& list : top)
    for (int64_t j = 0; j < std::min<int64_t>(k, static_cast<int64_t>(list.size())); ++j) {
      ++total;
      in_head += popular[list[j]];
    }
  return total > 0 ? static_cast<double>(in_head) / total : 0.0;
}

}  // namespace letter
