#include "letter/data/stats.h"

#include <algorithm>
#include <numeric>

#include "letter/data/split.h"

namespace letter {

namespace {
// Nearest-rank percentile of a sorted vector (q in [0, 1]).
int64_t percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(q * (sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

nlohmann::json distribution(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  double mean = v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  return {{"min", v.empty() ? 0 : v.front()}, {"p25", percentile(v, 0.25)},
          {"median", percentile(v, 0.5)},     {"mean", mean},
          {"p75", percentile(v, 0.75)},       {"p90", percentile(v, 0.9)},
          {"max", v.empty() ? 0 : v.back()}};
}
}  // namespace

nlohmann::json dataset_stats(const Dataset& ds, int64_t max_history) {
  std::vector<int64_t> lengths;
  lengths.reserve(ds.sequences.size());
  for (const auto& s : ds.sequences) lengths.push_back(static_cast<int64_t>(s.size()));
  std::vector<int64_t> counts(ds.num_items(), 0);
  for (const auto& s : ds.sequences)
    for (int64_t i : s) ++counts[i];
  Split sp = leave_one_out(ds, max_history);
  int64_t with_text = 0;
  for (const auto& t : ds.items) with_text += t.empty() ? 0 : 1;
  const double cells = static_cast<double>(ds.num_users()) * static_cast<double>(ds.num_items());
  return {{"name", ds.name},
          {"users", ds.num_users()},
          {"items", ds.num_items()},
          {"interactions", ds.num_interactions()},
          {"sparsity", cells > 0 ? 1.0 - ds.num_interactions() / cells : 0.0},
          {"length", distribution(std::move(lengths))},
          {"item_count", distribution(std::move(counts))},
          {"max_history", max_history},
          {"items_with_text", with_text},
          {"split",
           {{"train", sp.train.size()}, {"valid", sp.valid.size()}, {"test", sp.test.size()}}}};
}

}  // namespace letter
