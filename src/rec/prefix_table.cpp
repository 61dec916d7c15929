#include "letter/rec/prefix_table.h"

#include <algorithm>
#include <numeric>

#include "letter/common/error.h"

namespace letter::rec {

PrefixTable::PrefixTable(const CodeVocab& vocab, const torch::Device& device) {
  const int64_t n = vocab.num_items(), L = vocab.levels();
  LETTER_CHECK(n > 0 && L > 0, "prefix table: no items");
  auto tok = vocab.item_tokens().contiguous();
  auto a = tok.accessor<int64_t, 2>();
  // Items in lexicographic order of their tuples: prefixes then get increasing numbers.
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    for (int64_t l = 0; l < L; ++l)
      if (a[x][l] != a[y][l]) return a[x][l] < a[y][l];
    return false;  // stable: equal tuples keep ascending item id
  });
  std::vector<int64_t> node(n, 0);  // prefix number of each item at the current level
  prefix_count_.assign(1, 1);
  for (int64_t l = 0; l < L; ++l) {
    const int64_t P = prefix_count_.back(), K = vocab.level_size(l), begin = vocab.level_begin(l);
    std::vector<int64_t> child(P * K, -1);
    std::vector<int64_t> next(n, 0);
    int64_t count = 0;
    for (int64_t r = 0; r < n; ++r) {
      const int64_t i = order[r];
      const int64_t j = a[i][l] - begin;
      int64_t& c = child[node[i] * K + j];
      if (c < 0) c = count++;  // sorted order: new children appear in increasing order
      next[i] = c;
    }
    auto ct = torch::from_blob(child.data(), {P, K}, torch::kInt64).clone();
    allowed_.push_back((ct >= 0).to(device));
    child_.push_back(ct.to(device));
    prefix_count_.push_back(count);
    node.swap(next);
  }
  item_tuple_ = torch::from_blob(node.data(), {n}, torch::kInt64).clone();
  const int64_t T = prefix_count_.back();
  tuple_offsets_.assign(T + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++tuple_offsets_[node[i] + 1];
  for (int64_t t = 0; t < T; ++t) tuple_offsets_[t + 1] += tuple_offsets_[t];
  tuple_item_ids_.assign(n, 0);
  std::vector<int64_t> fill(tuple_offsets_.begin(), tuple_offsets_.end() - 1);
  for (int64_t i = 0; i < n; ++i) tuple_item_ids_[fill[node[i]]++] = i;  // ascending item id
}

std::vector<int64_t> PrefixTable::tuple_items(int64_t t) const {
  LETTER_CHECK(t >= 0 && t < num_tuples(), "tuple ", t, " out of range [0, ", num_tuples(), ")");
  return {tuple_item_ids_.begin() + tuple_offsets_[t], tuple_item_ids_.begin() + tuple_offsets_[t + 1]};
}

}  // namespace letter::rec
