// A T5-style encoder-decoder (algorithms.md c.1), written after Hugging Face's T5 (v1.0)
// so that it behaves like the model LETTER-TIGER trains:
//  - pre-norm blocks with RMS layer norm (T5LayerNorm: x / sqrt(mean(x^2) + eps) * w, no
//    bias, no mean subtraction), eps 1e-6; a final norm after each stack;
//  - attention without the 1/sqrt(d_kv) scaling (folded into the initialisation), no biases;
//  - relative position bias computed by the first layer of each stack and shared by all
//    its layers: bidirectional buckets in the encoder, causal (past-only) buckets in the
//    decoder, none in cross-attention;
//  - ReLU feed-forward (DenseReluDense), dropout on embeddings, sub-layer outputs,
//    attention weights, inside the FFN and after the final norms;
//  - input embeddings shared by encoder and decoder and tied to the output layer, whose
//    input is rescaled by d_model^-0.5 (tie_word_embeddings);
//  - T5's initialisation (_init_weights, factor 1.0).
//
// Item-causal mode (T5Options::item_tokens = L > 0, recommender.arch = causal_t5; ours, not
// the paper's): the encoder attends at item granularity, a token of history item j seeing the
// tokens of items 0..j only, so the encoder states of a history prefix do not depend on the
// items after it. decode_all_positions then trains every next-item target of a sequence in
// one pass: one decoder block per target, which cross-attends only to the encoder states of
// the items before it (the all-positions training of rec/data.h).
//
// Shapes: B batch, S encoder length, T decoder length, D = d_model, H heads, dk = d_kv,
// V vocabulary, W beams per user.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "letter/rec/options.h"
#include "letter/rec/generative.h"

namespace letter::rec {

/// Model sizes.
struct T5Options {
  int64_t vocab_size = 0;
  int64_t d_model = 128;
  int64_t d_kv = 64;
  int64_t heads = 6;
  int64_t d_ff = 1024;
  int64_t encoder_layers = 4;
  int64_t decoder_layers = 4;
  int64_t rel_buckets = 32;
  int64_t rel_max_distance = 128;
  double dropout = 0.1;
  double eps = 1e-6;         ///< layer-norm epsilon (HF T5)
  double init_factor = 1.0;  ///< T5 initializer_factor
  /// Tokens per item for the item-causal encoder (see the file comment); 0 = bidirectional.
  int64_t item_tokens = 0;

  /// Sizes from the recommender config section.
  static T5Options from(const RecommenderOptions& o, int64_t vocab_size);
};

/// HF's _relative_position_bucket: maps relative positions (memory - query) to buckets.
/// Bidirectional: half of the buckets for positive offsets; causal: only offsets <= 0
/// count (positive ones map to bucket 0). Half of a side's buckets are exact, the rest
/// logarithmic up to max_distance.
torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                       int64_t num_buckets, int64_t max_distance);

/// T5LayerNorm: RMS norm with a learned scale, no bias.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  void reset_parameters();
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

/// Multi-head attention without biases or score scaling. With `relative_bias`, it owns the
/// (buckets, H) position-bias table of its stack.
class T5AttentionImpl : public torch::nn::Module {
 public:
  T5AttentionImpl(const T5Options& opt, bool relative_bias, bool bidirectional);
  void reset_parameters();
  /// q from x (B, T, D); k, v from kv (B, S, D) (kv = x for self-attention). bias is added to
  /// the scores: (1 or B, H or 1, T, S). Returns (B, T, D).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& kv, const torch::Tensor& bias);
  /// Position bias (1, H, T, S) for queries at positions q0..q0+T-1 and keys 0..S-1.
  torch::Tensor position_bias(int64_t q0, int64_t T, int64_t S);
  /// Position bias (1, H, T, S) of the relative positions rel (T, S) int64 (key - query).
  torch::Tensor position_bias(const torch::Tensor& rel);
  /// Projects x (B, S, D) to keys and values, each (B, H, S, dk).
  std::pair<torch::Tensor, torch::Tensor> project_kv(const torch::Tensor& x);
  /// Projects x (B, T, D) to queries (B, H, T, dk).
  torch::Tensor project_q(const torch::Tensor& x);
  /// softmax(q k^T + bias) v, output-projected: q (B, H, T, dk), k/v (B, H, S, dk) -> (B, T, D).
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& bias);

  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  torch::nn::Embedding relative_attention_bias{nullptr};

 private:
  T5Options opt_;
  bool bidirectional_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(T5Attention);

/// DenseReluDense: wo(dropout(relu(wi(x)))).
class T5FeedForwardImpl : public torch::nn::Module {
 public:
  explicit T5FeedForwardImpl(const T5Options& o);
  void reset_parameters();
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear wi{nullptr}, wo{nullptr};

 private:
  T5Options opt_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(T5FeedForward);

/// One block: self-attention, (with `cross`) cross-attention, feed-forward; each pre-norm
/// with a residual connection. `causal` selects the causal position buckets of decoders.
class T5BlockImpl : public torch::nn::Module {
 public:
  T5BlockImpl(const T5Options& o, bool causal, bool cross, bool relative_bias);
  /// x (B, T, D); self_bias (1|B, H|1, T, T); enc (B, S, D) and cross_bias (B, 1, 1, S) for
  /// decoder blocks.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& self_bias,
                        const torch::Tensor& enc = {}, const torch::Tensor& cross_bias = {});

  RMSNorm self_norm{nullptr}, cross_norm{nullptr}, ff_norm{nullptr};
  T5Attention self_attn{nullptr}, cross_attn{nullptr};
  T5FeedForward ff{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(T5Block);

/// The encoder-decoder.
class T5Impl : public torch::nn::Module, public GenerativeModel {
 public:
  explicit T5Impl(const T5Options& o);
  /// T5 initialisation (HF _init_weights with initializer_factor): embeddings N(0, f),
  /// q N(0, f (D dk)^-1/2), k/v N(0, f D^-1/2), o N(0, f (H dk)^-1/2), relative bias
  /// N(0, f D^-1/2), wi N(0, f D^-1/2), wo N(0, f d_ff^-1/2), norms 1.
  void reset_parameters();

  /// input (B, S) int64 tokens, mask (B, S) bool (true = real token, right-padded)
  /// -> (B, S, D). Item-causal when options().item_tokens > 0.
  torch::Tensor encode(const torch::Tensor& input, const torch::Tensor& mask);
  /// Teacher-forced decoder: dec_input (B, T) int64 -> final hidden states (B, T, D).
  torch::Tensor decode(const torch::Tensor& dec_input, const torch::Tensor& enc,
                       const torch::Tensor& enc_mask);
  /// All-positions decoder (item-causal mode): dec_input (B, R * (L + 1)) holds R blocks
  /// [start, codes of target r] (L = item_tokens); block r cross-attends only to the encoder
  /// tokens of history items 0..r, i.e. enc positions < (r + 1) * L, and attends causally
  /// within itself. -> hidden states (B, R * (L + 1), D).
  torch::Tensor decode_all_positions(const torch::Tensor& dec_input, const torch::Tensor& enc,
                                     const torch::Tensor& enc_mask);
  /// Output logits of hidden states (..., D) -> (..., V): (h * D^-0.5) @ E^T.
  torch::Tensor logits(const torch::Tensor& hidden);
  /// encode + decode + logits: (B, T, V).
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& mask,
                        const torch::Tensor& dec_input);

  /// Cache for decoding W beams per user from the encoder output enc (B, S, D).
  DecoderCache start_decoding(const torch::Tensor& enc, const torch::Tensor& enc_mask, int64_t beams);
  /// One decoder step: tokens (B*W,) int64 at position cache.steps -> logits (B*W, V);
  /// appends this step's keys and values to the cache. Beams of user b are rows b*W..b*W+W-1.
  torch::Tensor decode_step(const torch::Tensor& tokens, DecoderCache& cache);

  // GenerativeModel: encode, then decode the start token.
  torch::Tensor prefill(const torch::Tensor& input, const torch::Tensor& mask, DecoderCache& cache) override;
  torch::Tensor step(const torch::Tensor& tokens, DecoderCache& cache) override { return decode_step(tokens, cache); }
  bool predicts_eos() const override { return true; }

  const T5Options& options() const { return opt_; }
  /// Parameters that get weight decay (everything but the layer-norm scales; T5 has no biases).
  std::vector<torch::Tensor> decay_parameters();
  std::vector<torch::Tensor> no_decay_parameters();
  /// Multiply-adds x2 of one forward pass on a batch with S encoder and T decoder tokens
  /// per sample (the matmuls; softmax and norms are not counted).
  double forward_flops(double S, double T) const;

  torch::nn::Embedding shared{nullptr};
  torch::nn::ModuleList encoder{nullptr}, decoder{nullptr};
  RMSNorm encoder_norm{nullptr}, decoder_norm{nullptr};

 private:
  T5Options opt_;
  torch::nn::Dropout dropout_{nullptr};
  std::vector<T5Block> enc_blocks_, dec_blocks_;
};
TORCH_MODULE(T5);

/// The parameters of `m` that get weight decay (decay = true: all but the RMS-norm scales;
/// T5 has no biases) or that do not (decay = false).
std::vector<torch::Tensor> decay_group(torch::nn::Module& m, bool decay);

/// Additive attention bias from a key mask (B, S) bool: 0 where true, a large negative
/// number where false, shaped (B, 1, 1, S).
torch::Tensor mask_bias(const torch::Tensor& mask);

}  // namespace letter::rec
