#include "letter/rec/beam_search.h"

#include <algorithm>
#include <limits>

#include "letter/common/error.h"

namespace letter::rec {


torch::Tensor level_log_probs(const torch::Tensor& logits, const CodeVocab& vocab, int64_t level,
                              SoftmaxMode mode) {
  auto lf = logits.to(torch::kFloat32);
  const int64_t begin = vocab.level_begin(level), K = vocab.level_size(level);
  if (mode == SoftmaxMode::kLevel) return torch::log_softmax(lf.narrow(-1, begin, K), -1);
  return torch::log_softmax(lf, -1).narrow(-1, begin, K);
}

BeamResult beam_search(GenerativeModel& model, const CodeVocab& vocab, const PrefixTable& table,
                       const torch::Tensor& input, const torch::Tensor& mask,
                       const BeamSearchOptions& opt) {
  LETTER_CHECK(opt.beam >= 1, "beam size must be >= 1, got ", opt.beam);
  LETTER_CHECK(table.levels() == vocab.levels(), "prefix table and vocabulary disagree on levels");
  const int64_t B = input.size(0), W = opt.beam, L = vocab.levels();
  const auto dev = input.device();
  const float ninf = -std::numeric_limits<float>::infinity();
  // The prefill decodes one row per user (all beams start alike); the cache grows to W
  // rows per user after the first selection.
  DecoderCache cache;
  auto logits = model.prefill(input, mask, cache);  // (B, V)
  auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  auto scores = torch::zeros({B, 1}, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
  auto node = torch::zeros({B, 1}, i64);  // prefix number of each beam at the current level
  torch::Tensor tokens;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t K = vocab.level_size(l), Wc = cache.beams;
    if (l > 0) logits = model.step(tokens, cache);
    auto lp = level_log_probs(logits, vocab, l, opt.softmax);  // (B*Wc, K)
    auto allowed = table.allowed(l).index_select(0, node.view(-1));                    // (B*Wc, K)
    lp = lp.masked_fill(allowed.logical_not(), ninf);
    if (opt.renormalize) {
      auto lse = torch::logsumexp(lp, -1, /*keepdim=*/true);
      // Dead beams may sit on prefixes whose row is all -inf after masking: keep them -inf.
      lp = torch::where(torch::isfinite(lse), lp - lse, lp);
    }
    auto cand = (scores.unsqueeze(2) + lp.view({B, Wc, K})).view({B, Wc * K});
    const int64_t take = std::min(W, Wc * K);
    auto top = cand.topk(take, 1, /*largest=*/true, /*sorted=*/true);
    auto top_scores = std::get<0>(top), top_index = std::get<1>(top);  // (B, take)
    auto src = top_index.div(K, "floor");                               // beam each comes from
    auto code = top_index.remainder(K);                                 // local token index
    auto parent = node.gather(1, src);
    auto next = table.child(l).index({parent.view(-1), code.view(-1)}).view({B, take});
    auto alive = torch::isfinite(top_scores) & (next >= 0);
    if (take < W) {  // fewer candidates than beams: pad with dead beams
      auto pad = [&](const torch::Tensor& t, double v) {
        return torch::cat({t, torch::full({B, W - take}, v, t.options())}, 1);
      };
      top_scores = pad(top_scores, ninf);
      src = pad(src, 0);
      code = pad(code, 0);
      next = pad(next, 0);
      alive = pad(alive, 0);
    }
    scores = top_scores.masked_fill(alive.logical_not(), ninf);
    node = next.masked_fill(alive.logical_not(), 0);
    tokens = (code + vocab.level_begin(l)).view(-1);
    GenerativeModel::reorder_cache(cache, ((torch::arange(B, i64) * Wc).unsqueeze(1) + src).view(-1));
    cache.beams = W;
  }
  if (!opt.renormalize && opt.softmax == SoftmaxMode::kAll && model.predicts_eos()) {
    // HF: the eos step's unrenormalised log-probability is part of the hypothesis score
    // (with the level softmax the eos position normalises over {eos} and adds 0).
    auto lf = model.step(tokens, cache).to(torch::kFloat32);
    scores = scores + torch::log_softmax(lf, -1).select(1, CodeVocab::kEos).view({B, W});
    auto sorted = scores.sort(1, /*descending=*/true);
    scores = std::get<0>(sorted);
    node = node.gather(1, std::get<1>(sorted));
  }
  BeamResult r;
  r.scores = scores;
  r.tuples = node.masked_fill(torch::isfinite(scores).logical_not(), -1);
  return r;
}

std::vector<std::vector<ScoredItem>> expand_items(const BeamResult& r, const PrefixTable& table,
                                                  int64_t k,
                                                  const std::vector<std::vector<int64_t>>* exclude) {
  auto tuples = r.tuples.to(torch::kCPU).contiguous();
  auto scores = r.scores.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t B = tuples.size(0), W = tuples.size(1);
  auto ta = tuples.accessor<int64_t, 2>();
  auto sa = scores.accessor<float, 2>();
  const auto& off = table.tuple_offsets();
  const auto& ids = table.tuple_item_ids();
  std::vector<std::vector<ScoredItem>> out(B);
  for (int64_t b = 0; b < B; ++b) {
    auto& list = out[b];
    for (int64_t w = 0; w < W && static_cast<int64_t>(list.size()) < k; ++w) {
      const int64_t t = ta[b][w];
      if (t < 0) break;
      for (int64_t j = off[t]; j < off[t + 1] && static_cast<int64_t>(list.size()) < k; ++j) {
        const int64_t item = ids[j];
        if (exclude && std::binary_search((*exclude)[b].begin(), (*exclude)[b].end(), item)) continue;
        list.push_back({item, sa[b][w]});
      }
    }
  }
  return out;
}

}  // namespace letter::rec
