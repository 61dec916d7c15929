// The interface beam search decodes through, shared by the encoder-decoder T5 (paper and
// item-causal) and the decoder-only model: prefill a batch of histories once, then extend
// every beam by one token per step with a key/value cache.
//
// Shapes: B users, S history tokens, W beams per user, H heads, dk = d_kv, V vocabulary.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "letter/common/torch_compat.h"

namespace letter::rec {

/// Incremental-decoding state. Per layer:
///  - shared_k / shared_v (B, H, S, dk): keys and values computed once per user and shared
///    by its W beams: the encoder output's cross-attention projections (T5) or the history
///    prefix's self-attention keys (decoder-only); shared_bias (B, 1, 1, S) masks padding;
///  - self_k / self_v (B*W, H, t, dk): the keys and values of the t generated steps.
struct DecoderCache {
  std::vector<torch::Tensor> self_k, self_v, shared_k, shared_v;
  torch::Tensor shared_bias;  ///< (B, 1, 1, S) additive mask of padding
  int64_t users = 0;          ///< B
  int64_t beams = 1;          ///< W query rows per user
  int64_t steps = 0;          ///< tokens generated and consumed so far
  int64_t prefix = 0;         ///< S (decoder-only: history length, the position of step 0)
};

/// A model that generates item codes for a batch of histories.
class GenerativeModel {
 public:
  virtual ~GenerativeModel() = default;
  /// Reads the histories input (B, S) int64, mask (B, S) bool (true = real token) in the
  /// model's layout (rec/data.h HistoryLayout) and returns the logits of the first code
  /// (B, V); `cache` then holds one row per user.
  virtual torch::Tensor prefill(const torch::Tensor& input, const torch::Tensor& mask, DecoderCache& cache) = 0;
  /// Consumes one token per beam, tokens (B*W,) int64 (beams of user b are rows
  /// b*W..b*W+W-1; W = cache.beams), and returns the next logits (B*W, V).
  virtual torch::Tensor step(const torch::Tensor& tokens, DecoderCache& cache) = 0;
  /// Whether the model predicts eos after the last code (HF-style scores add its log-prob).
  virtual bool predicts_eos() const = 0;
  /// Reorders the per-beam cache rows: row r takes the state of row index[r].
  static void reorder_cache(DecoderCache& cache, const torch::Tensor& index) {
    for (auto& k : cache.self_k)
      if (k.defined()) k = k.index_select(0, index);
    for (auto& v : cache.self_v)
      if (v.defined()) v = v.index_select(0, index);
  }
};

/// The output logits of a decoding step, hidden (..., D) -> (..., V), computed in float32
/// even inside a bf16 autocast region: the scores of near-tied beams come from them (with
/// bfloat16 logits 6% of the users of a trained tiny model changed their top-10 items; in
/// float32 the rest of the step may still run in bfloat16).
template <class Model>
torch::Tensor decode_logits(Model& model, const torch::Tensor& hidden) {
  auto fp32 = compat::Autocast::off(hidden.device());
  return model.logits(hidden.to(torch::kFloat32));
}

/// Attention of W query rows per user over keys shared per user (B, H, S, dk) plus, when
/// defined, each row's own keys (B*W, H, t, dk), with one softmax over both:
/// q (B*W, H, 1, dk); shared_bias broadcastable to (B, H, W, S); own_bias to
/// (B*W, H, 1, t). Returns the attention output (B*W, H, 1, dk) before the output
/// projection. No 1/sqrt(dk) scaling (T5).
torch::Tensor grouped_attention(const torch::Tensor& q, const torch::Tensor& shared_k, const torch::Tensor& shared_v,
                                const torch::Tensor& shared_bias, const torch::Tensor& own_k,
                                const torch::Tensor& own_v, const torch::Tensor& own_bias);

}  // namespace letter::rec
