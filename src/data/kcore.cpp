// Iterative k-core filter: drop users and items with fewer than k interactions, repeat
// until every remaining user and item has at least k. Ids are re-indexed contiguously.
#include <numeric>

#include "letter/common/error.h"
#include "letter/data/dataset.h"

namespace letter {

std::vector<KcoreRound> kcore_filter(Dataset& ds, int64_t k) {
  std::vector<KcoreRound> rounds;
  if (k <= 1) return rounds;
  const int64_t n_items = ds.num_items();
  std::vector<char> item_alive(n_items, 1), user_alive(ds.sequences.size(), 1);
  std::vector<int64_t> item_count(n_items, 0);
  for (const auto& s : ds.sequences)
    for (int64_t i : s) ++item_count[i];
  // Items that never occur are dropped silently in the first round's count.
  while (true) {
    KcoreRound r;
    // Items below k.
    for (int64_t i = 0; i < n_items; ++i) {
      if (item_alive[i] && item_count[i] < k) {
        item_alive[i] = 0;
        ++r.items_removed;
      }
    }
    // Remove dead items from sequences; then users below k.
    for (size_t u = 0; u < ds.sequences.size(); ++u) {
      if (!user_alive[u]) continue;
      auto& s = ds.sequences[u];
      size_t before = s.size();
      s.erase(std::remove_if(s.begin(), s.end(), [&](int64_t i) { return !item_alive[i]; }), s.end());
      r.interactions_removed += static_cast<int64_t>(before - s.size());
      if (static_cast<int64_t>(s.size()) < k) {
        user_alive[u] = 0;
        ++r.users_removed;
        r.interactions_removed += static_cast<int64_t>(s.size());
        for (int64_t i : s) --item_count[i];
        s.clear();
      }
    }
    if (r.items_removed == 0 && r.users_removed == 0) break;
    rounds.push_back(r);
  }
  if (rounds.empty()) return rounds;

  // Re-index.
  std::vector<int64_t> new_item(n_items, -1);
  std::vector<std::string> item_ids;
  std::vector<ItemText> items;
  for (int64_t i = 0; i < n_items; ++i) {
    if (!item_alive[i]) continue;
    new_item[i] = static_cast<int64_t>(item_ids.size());
    item_ids.push_back(std::move(ds.item_ids[i]));
    if (!ds.items.empty()) items.push_back(std::move(ds.items[i]));
  }
  std::vector<std::vector<int64_t>> seqs;
  std::vector<std::string> user_ids;
  for (size_t u = 0; u < ds.sequences.size(); ++u) {
    if (!user_alive[u]) continue;
    for (auto& i : ds.sequences[u]) i = new_item[i];
    seqs.push_back(std::move(ds.sequences[u]));
    user_ids.push_back(std::move(ds.user_ids[u]));
  }
  ds.sequences = std::move(seqs);
  ds.user_ids = std::move(user_ids);
  ds.item_ids = std::move(item_ids);
  ds.items = std::move(items);
  return rounds;
}

}  // namespace letter
