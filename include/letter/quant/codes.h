// Collision-free item codes (algorithms.md b.8, "Better"): argmin codes first; then every
// group of items sharing a full L-code tuple is re-assigned by an exact minimum-cost
// assignment (Hungarian) of its members to distinct last-level codes that no other item
// with the same (L-1)-prefix uses; the cost is the squared distance between an item's
// last-level residual and the code vector. Two cases cannot be separated this way and get
// an extra, appended disambiguation level (the item's rank inside its remaining group, like
// TIGER's 4th token), which the report states:
//  - items with identical input embeddings (their codes would be arbitrary: one of them keeps
//    the Hungarian's code for the whole identical class), and
//  - prefixes that hold more distinct items than there are last-level codes (a full prefix).
// The returned tuples are unique, always.
//
// Shapes: N items, L levels, K codes per level, D residual size.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace letter::quant {

/// Class id of every row: the index of its first exactly identical row (bitwise equal
/// values), so rows with equal ids are identical. x (N, D) -> (N) int64.
torch::Tensor identical_rows(const torch::Tensor& x);

/// What the resolution did.
struct ResolveReport {
  int64_t items = 0;
  int64_t levels = 0;                 ///< L (before any extra level)
  int64_t distinct_before = 0;        ///< distinct L-tuples of the argmin codes
  int64_t collisions_before = 0;      ///< items - distinct_before
  int64_t groups_before = 0;          ///< tuples shared by >= 2 items
  int64_t max_group_before = 0;       ///< largest group
  int64_t reassigned = 0;             ///< items whose last-level code changed
  int64_t identical_items = 0;        ///< items in identical-embedding classes of size >= 2 that collide
  int64_t full_prefix_items = 0;      ///< colliding items under a prefix with too few free codes
  int64_t distinct_after_l = 0;       ///< distinct L-tuples after re-assignment
  int64_t collisions_after_l = 0;     ///< items - distinct_after_l (0 unless an extra level)
  bool extra_level = false;           ///< an (L+1)-th level was appended
  int64_t extra_level_max = 0;        ///< largest value of the extra level
  int64_t distinct_after = 0;         ///< distinct final tuples (== items, always)

  nlohmann::json to_json() const;
};

/// Resolves collisions. codes (N, L) int64 argmin codes in [0, K); last_residual (N, D)
/// the residual entering the last level; last_codebook (K, D); identity (N) int64 class ids
/// from identical_rows (undefined = all items distinct). Returns (N, L) or (N, L + 1) int64
/// codes with unique rows. Deterministic: groups are processed in order of their tuples.
torch::Tensor resolve_collisions(const torch::Tensor& codes, const torch::Tensor& last_residual,
                                 const torch::Tensor& last_codebook, const torch::Tensor& identity,
                                 ResolveReport* report = nullptr);

}  // namespace letter::quant
