#include "letter/rec/vocab.h"

#include "letter/common/error.h"

namespace letter::rec {

CodeVocab::CodeVocab(const torch::Tensor& codes) {
  LETTER_CHECK(codes.defined() && codes.dim() == 2 && codes.size(0) > 0 && codes.size(1) > 0,
               "item codes must be a non-empty (N, L) table, got ",
               codes.defined() ? codes.sizes() : c10::IntArrayRef{});
  codes_ = codes.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t n = codes_.size(0), L = codes_.size(1);
  LETTER_CHECK(codes_.min().item<int64_t>() >= 0, "item codes must be >= 0, found ",
               codes_.min().item<int64_t>());
  auto a = codes_.accessor<int64_t, 2>();
  level_codes_.resize(L);
  code_local_.resize(L);
  level_begin_.assign(1, kSpecial);
  for (int64_t l = 0; l < L; ++l) {
    int64_t mx = 0;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, a[i][l]);
    std::vector<char> used(mx + 1, 0);
    for (int64_t i = 0; i < n; ++i) used[a[i][l]] = 1;
    code_local_[l].assign(mx + 1, -1);
    for (int64_t c = 0; c <= mx; ++c) {
      if (!used[c]) continue;
      code_local_[l][c] = static_cast<int64_t>(level_codes_[l].size());
      level_codes_[l].push_back(c);
    }
    level_begin_.push_back(level_begin_.back() + static_cast<int64_t>(level_codes_[l].size()));
  }
  item_tokens_ = torch::empty({n, L}, torch::kInt64);
  auto t = item_tokens_.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t l = 0; l < L; ++l) t[i][l] = level_begin_[l] + code_local_[l][a[i][l]];
}

int64_t CodeVocab::code_of(int64_t l, int64_t token) const {
  LETTER_CHECK(l >= 0 && l < levels() && token >= level_begin_[l] && token < level_begin_[l + 1],
               "token ", token, " is not a level-", l, " code token");
  return level_codes_[l][token - level_begin_[l]];
}

int64_t CodeVocab::token_of(int64_t l, int64_t code) const {
  if (l < 0 || l >= levels() || code < 0 || code >= static_cast<int64_t>(code_local_[l].size()))
    return -1;
  int64_t local = code_local_[l][code];
  return local < 0 ? -1 : level_begin_[l] + local;
}

std::string CodeVocab::token_string(int64_t token) const {
  if (token == kPad) return "<pad>";
  if (token == kEos) return "</s>";
  if (token == kStart) return "<start>";
  for (int64_t l = 0; l < levels(); ++l)
    if (token >= level_begin_[l] && token < level_begin_[l + 1])
      return code_token(l, code_of(l, token));
  LETTER_FAIL("token ", token, " is outside the vocabulary of ", size(), " tokens");
}

}  // namespace letter::rec
