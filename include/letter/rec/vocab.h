// Token vocabulary of the generative recommender: the item code tokens and three special
// tokens, nothing else (LETTER-TIGER adds the code tokens to t5-small's 32,100 word pieces,
// algorithms.md c.1; the word pieces are never used, so we leave them out).
//
//   0 = pad, 1 = eos, 2 = decoder start, then level 0's codes, level 1's codes, ...
//
// Only (level, code) pairs that some item uses become tokens (LETTER's add_tokens adds the
// tokens found in index.json), in ascending code order within a level, so each level owns a
// contiguous token range [level_begin[l], level_begin[l+1]). A disambiguation level appended
// by a tokenizer is just one more level.
//
// Shapes: N items, L levels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "letter/data/codes.h"
#include "letter/data/dataset.h"

namespace letter::rec {

/// Code tokens + pad/eos/start.
class CodeVocab {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kEos = 1;
  static constexpr int64_t kStart = 2;
  static constexpr int64_t kSpecial = 3;  ///< first code token id

  CodeVocab() = default;
  /// Builds the vocabulary of `codes`: (N, L) int64, codes >= 0.
  explicit CodeVocab(const torch::Tensor& codes);

  int64_t size() const { return level_begin_.empty() ? kSpecial : level_begin_.back(); }
  int64_t levels() const { return static_cast<int64_t>(level_codes_.size()); }
  int64_t num_items() const { return item_tokens_.defined() ? item_tokens_.size(0) : 0; }
  /// First token id of level l; level_begin(levels()) = size().
  int64_t level_begin(int64_t l) const { return level_begin_.at(l); }
  /// Number of tokens of level l (codes in use at that level).
  int64_t level_size(int64_t l) const { return level_begin_.at(l + 1) - level_begin_.at(l); }
  /// The code of token `token` (which must belong to level l).
  int64_t code_of(int64_t l, int64_t token) const;
  /// Token of (level, code), or -1 when no item uses that code at that level.
  int64_t token_of(int64_t l, int64_t code) const;
  /// (N, L) int64: the code tokens of every item.
  const torch::Tensor& item_tokens() const { return item_tokens_; }
  /// (N, L) int64: the codes the vocabulary was built from.
  const torch::Tensor& codes() const { return codes_; }
  /// "<pad>", "</s>", "<start>", or the code token "<b_17>".
  std::string token_string(int64_t token) const;

 private:
  torch::Tensor codes_, item_tokens_;
  std::vector<std::vector<int64_t>> level_codes_;  ///< level -> used codes, ascending
  std::vector<std::vector<int64_t>> code_local_;   ///< level -> code -> local index or -1
  std::vector<int64_t> level_begin_;
};

}  // namespace letter::rec
