// Item codes (semantic IDs): an (N, L) int64 table, read from and written to LETTER's
// index.json layout {"<item>": ["<a_12>", "<b_7>", "<c_200>", "<d_31>"]}: level l uses the
// letter 'a' + l, code k the number k; or a codes.npy (N, L) integer array. The one loader
// of code tables (load_item_codes) and the one collision count (collision_stats) that
// every stage uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/data/dataset.h"

namespace letter {

/// Largest codebook (codes per level) and deepest code accepted from any input: the
/// recommender's vocabulary and tables grow with both, so a typo such as <c_99999999> must
/// be refused before it allocates gigabytes. Tokenizers here use 256 codes and 4 levels.
inline constexpr int64_t kMaxCodebookSize = 65536;
inline constexpr int64_t kMaxCodeLevels = 26;  // <a_..> to <z_..>

/// Codes of all items.
struct ItemCodes {
  torch::Tensor codes;               ///< (N, L) int64, row i = item i
  std::vector<int64_t> level_sizes;  ///< codes per level (max code + 1 unless given)

  int64_t num_items() const { return codes.defined() ? codes.size(0) : 0; }
  int64_t levels() const { return codes.defined() ? codes.size(1) : 0; }
  /// Number of distinct code tuples.
  int64_t distinct() const;
};

/// How many items share a full code tuple.
struct CollisionStats {
  int64_t items = 0;            ///< N
  int64_t distinct = 0;         ///< distinct tuples
  int64_t groups = 0;           ///< tuples shared by >= 2 items
  int64_t items_in_groups = 0;  ///< items on a shared tuple
  int64_t max_group = 0;        ///< items on the most shared tuple (1 = collision-free)
  /// (N - distinct) / N, LETTER's collision rate.
  double rate() const { return items > 0 ? static_cast<double>(items - distinct) / items : 0.0; }
  /// {"items", "distinct_tuples", "colliding_groups", "items_in_collisions", "max_group",
  /// "collision_rate"}.
  nlohmann::json to_json() const;
};

/// Collision statistics of codes (N, L) integer.
CollisionStats collision_stats(const torch::Tensor& codes);

/// "<a_12>" for level 0, code 12. Levels beyond 'z' are not supported (throws).
std::string code_token(int64_t level, int64_t code);
/// Parses "<a_12>" into (level, code); throws naming `where` on malformed tokens.
std::pair<int64_t, int64_t> parse_code_token(const std::string& token, const std::string& where);

/// Reads index.json. Keys are raw item ids; `ds` maps them to contiguous ids (keys that
/// are not in the dataset are an error, as are dataset items without codes, unequal code
/// lengths and tokens whose level letter does not match their position).
ItemCodes read_index_json(const std::string& path, const Dataset& ds);

/// Reads item codes for `ds` from `path`: LETTER index.json (keys = raw item ids) or
/// codes.npy ((N, L) integer array, row i = item i). Throws letter::Error naming the file
/// on a wrong item count, negative codes, non-integer arrays or malformed JSON.
ItemCodes load_item_codes(const std::string& path, const Dataset& ds);

/// Writes index.json (one line, as LETTER's files) with keys = ds.item_ids, atomically.
void write_index_json(const std::string& path, const torch::Tensor& codes, const Dataset& ds);

}  // namespace letter
