// Prefix table of all item code tuples: the trie of LETTER-TIGER's constrained decoding
// (algorithms.md c.5) stored level by level as dense tensors, so that the valid
// continuations of a whole batch of beams are one index_select (no per-beam callbacks,
// the HF prefix_allowed_tokens_fn bottleneck of algorithms.md h).
//
// Level l (0..L-1) has P_l distinct prefixes of length l (P_0 = 1, the empty prefix),
// numbered in lexicographic order of their codes. For prefix p of level l:
//   allowed(l)[p, j] = true  iff some item's tuple continues p with the j-th token of level l
//   child(l)[p, j]   = the number of the extended prefix at level l+1, or -1
// (j = token - vocab.level_begin(l)). Prefixes of length L are the distinct tuples
// 0..num_tuples()-1; tuple_items() lists the items of each (several when codes collide).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "letter/rec/vocab.h"

namespace letter::rec {

class PrefixTable {
 public:
  PrefixTable() = default;
  /// Builds the table of all items of `vocab`, with the mask/child tensors on `device`.
  PrefixTable(const CodeVocab& vocab, const torch::Device& device);

  int64_t levels() const { return static_cast<int64_t>(allowed_.size()); }
  /// (P_l, K_l) bool on the device.
  const torch::Tensor& allowed(int64_t l) const { return allowed_.at(l); }
  /// (P_l, K_l) int64 on the device, -1 where not allowed.
  const torch::Tensor& child(int64_t l) const { return child_.at(l); }
  /// Number of distinct prefixes of length l (l = 0..L; l = L gives num_tuples()).
  int64_t prefixes(int64_t l) const { return prefix_count_.at(l); }
  int64_t num_tuples() const { return prefix_count_.back(); }
  /// Tuple number of every item, (N,) int64 on the CPU.
  const torch::Tensor& item_tuple() const { return item_tuple_; }
  /// Items of tuple t, ascending item id (CSR on the CPU).
  std::vector<int64_t> tuple_items(int64_t t) const;
  /// (T + 1,) offsets and (N,) item ids of the CSR list, CPU int64.
  const std::vector<int64_t>& tuple_offsets() const { return tuple_offsets_; }
  const std::vector<int64_t>& tuple_item_ids() const { return tuple_item_ids_; }

 private:
  std::vector<torch::Tensor> allowed_, child_;
  std::vector<int64_t> prefix_count_;
  torch::Tensor item_tuple_;
  std::vector<int64_t> tuple_offsets_, tuple_item_ids_;
};

}  // namespace letter::rec
