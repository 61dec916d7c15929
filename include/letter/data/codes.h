// Item codes (semantic IDs): an (N, L) int64 table, read from and written to LETTER's
// index.json layout {"<item>": ["<a_12>", "<b_7>", "<c_200>", "<d_31>"]}: level l uses the
// letter 'a' + l, code k the number k.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "letter/data/dataset.h"

namespace letter {

/// Codes of all items.
struct ItemCodes {
  torch::Tensor codes;               ///< (N, L) int64, row i = item i
  std::vector<int64_t> level_sizes;  ///< codes per level (max code + 1 unless given)

  int64_t num_items() const { return codes.defined() ? codes.size(0) : 0; }
  int64_t levels() const { return codes.defined() ? codes.size(1) : 0; }
  /// Number of distinct code tuples.
  int64_t distinct() const;
};

/// "<a_12>" for level 0, code 12. Levels beyond 'z' are not supported (throws).
std::string code_token(int64_t level, int64_t code);
/// Parses "<a_12>" into (level, code); throws naming `where` on malformed tokens.
std::pair<int64_t, int64_t> parse_code_token(const std::string& token, const std::string& where);

/// Reads index.json. Keys are raw item ids; `ds` maps them to contiguous ids (keys that
/// are not in the dataset are an error, as are dataset items without codes, unequal code
/// lengths and tokens whose level letter does not match their position).
ItemCodes read_index_json(const std::string& path, const Dataset& ds);

/// Writes index.json (one line, as LETTER's files) with keys = ds.item_ids, atomically.
void write_index_json(const std::string& path, const torch::Tensor& codes, const Dataset& ds);

}  // namespace letter
