// Decoder-only recommender over code tokens (recommender.arch = decoder; ours, not the
// paper's): a causal stack of T5 blocks (pre-norm RMS norm, self-attention without biases or
// score scaling, causal relative position buckets shared by all layers, ReLU feed-forward,
// T5 initialisation) over
//
//     start, codes of item 0, codes of item 1, ...
//
// with the output layer tied to the input embedding (rescaled by d_model^-0.5, as T5). The
// state at each token predicts the next token: the next code of the same item, or the first
// code of the next item. One pass over a sequence trains every next-item target of it.
// Generation prefills the history once (left-padded, so the next token sits at the same
// position for every user) and then decodes the L codes of the next item with a key/value
// cache: the history's keys are stored once per user and shared by its beams.
//
// Shapes: B batch, T tokens, D = d_model, H heads, dk = d_kv, V vocabulary, W beams.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "letter/rec/generative.h"
#include "letter/rec/t5.h"

namespace letter::rec {

/// The decoder-only model; its depth is T5Options::decoder_layers (encoder_layers unused).
class DecoderLMImpl : public torch::nn::Module, public GenerativeModel {
 public:
  explicit DecoderLMImpl(const T5Options& o);
  /// T5's initialisation (see T5Impl::reset_parameters).
  void reset_parameters();

  /// tokens (B, T) int64, mask (B, T) bool (true = real; padding on either side) -> final
  /// hidden states (B, T, D), each position attending to the real positions up to itself.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& mask);
  /// (..., D) -> (..., V): (h * D^-0.5) @ E^T.
  torch::Tensor logits(const torch::Tensor& hidden);

  // GenerativeModel. prefill expects left-padded histories (HistoryLayout of decoder).
  torch::Tensor prefill(const torch::Tensor& input, const torch::Tensor& mask, DecoderCache& cache) override;
  torch::Tensor step(const torch::Tensor& tokens, DecoderCache& cache) override;
  bool predicts_eos() const override { return false; }

  const T5Options& options() const { return opt_; }
  /// Multiply-adds x2 of one forward pass over T tokens (matmuls only).
  double forward_flops(double T) const;

  torch::nn::Embedding shared{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm final_norm{nullptr};

 private:
  /// Causal + padding bias (B, H, T, T) of a (B, T) mask.
  torch::Tensor self_bias(const torch::Tensor& mask);

  T5Options opt_;
  torch::nn::Dropout dropout_{nullptr};
  std::vector<T5Block> blocks_;
};
TORCH_MODULE(DecoderLM);

}  // namespace letter::rec
