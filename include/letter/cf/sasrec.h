// SASRec (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018): causal
// self-attention over a user's item sequence; the hidden state at position t scores every
// item by a dot product with the (shared) item embeddings, predicting the item at t + 1.
// LETTER takes its collaborative item vectors from such a model (algorithms.md a.3); its
// authors point to pmixer/SASRec.pytorch, whose layer layout is followed here:
//
//   x = dropout(E[item] * sqrt(d) + P[pos])
//   per block:  q = LN_a(x);  x = q + MHA(query q, keys/values x, causal);
//               x = LN_f(x);  x = x + dropout(W2 dropout(relu(W1 x)))
//   h = LN_last(x)                           (LayerNorm eps 1e-8, attention dropout = dropout)
//   score(h, i) = h . E[i]
//
// Dimension letters: B batch, T sequence length (<= max_len), d hidden, h heads, N items.
// Ids: item i (0-based, as in the data) is embedding row i + 1; row 0 is padding (zero,
// never updated), so item_vectors() = rows 1..N is the N x d matrix LETTER exports.
// Positions: sequences are right-padded and numbered from their first item (position 1,
// 0 = padding). With causal attention the output at t then equals the output for the
// prefix of length t + 1 alone, so training at every position is training on every prefix,
// exactly what evaluation feeds the model. Departure from pmixer: it left-pads to max_len,
// numbers the columns (the newest item always gets position max_len) and lets queries
// attend to padded keys; here padding never influences a real position, whatever the pad
// width, which is what makes batches padded only to their longest sequence exact.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "letter/cf/options.h"

namespace letter {

/// One SASRec block (pmixer's arrangement, see the file comment).
class SasRecBlockImpl : public torch::nn::Module {
 public:
  SasRecBlockImpl(int64_t hidden, int64_t heads, double dropout);
  /// x: (B, T, d) float; mask: (T, T) float additive mask (0 allowed, -inf future).
  /// Returns (B, T, d).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

  torch::nn::LayerNorm attn_norm{nullptr}, ffn_norm{nullptr};
  torch::nn::Linear query{nullptr};      ///< d -> d
  torch::nn::Linear key_value{nullptr};  ///< d -> 2d (keys, values)
  torch::nn::Linear out{nullptr};        ///< d -> d
  torch::nn::Linear ffn1{nullptr}, ffn2{nullptr};  ///< d -> d -> d (pmixer's 1x1 convs)
  int64_t heads = 1;
  double dropout = 0.0;
};
TORCH_MODULE(SasRecBlock);

/// The SASRec network.
class SasRecImpl : public torch::nn::Module {
 public:
  /// `num_items` = N (ids 0..N-1); architecture from `options` (hidden, blocks, heads,
  /// dropout, max_len). Throws UsageError when hidden is not divisible by heads.
  SasRecImpl(int64_t num_items, const CfOptions& options);

  /// Xavier-normal weights and zero biases for every linear layer and both embeddings
  /// (as pmixer), unit LayerNorms, zero padding rows.
  void reset_parameters();

  /// items: (B, T) int64 embedding rows (item id + 1; 0 = padding, only after the last real
  /// item of a row), T <= max_len. Returns hidden states (B, T, d); padded positions hold
  /// unspecified values.
  torch::Tensor forward(const torch::Tensor& items);

  /// Hidden state after the last real item of each row: items (B, T) as in forward,
  /// lengths (B,) int64 in [1, T]. Returns (B, d): the query that scores the next item.
  torch::Tensor encode_last(const torch::Tensor& items, const torch::Tensor& lengths);

  /// The item embeddings without the padding row: (N, d), a view that carries gradients.
  torch::Tensor item_vectors() const;

  /// Overwrites the item embeddings with `vectors` (N, d) float (row i = item i).
  void set_item_vectors(const torch::Tensor& vectors);

  int64_t num_items = 0;
  CfOptions options;
  torch::nn::Embedding item_emb{nullptr};  ///< (N + 1, d), row 0 = padding
  torch::nn::Embedding pos_emb{nullptr};   ///< (max_len + 1, d), row 0 = padding
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm last_norm{nullptr};
};
TORCH_MODULE(SasRec);

}  // namespace letter
