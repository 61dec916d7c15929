// LETTER's ranking-guided generation loss (algorithms.md c.3, LETTER-TIGER
// modeling_letter.py): cross-entropy of the temperature-scaled softmax,
//
//   L = mean over label positions (labels != -100) of  -log softmax(z / tau)[label],
//
// with z the logits at that position. tau < 1 sharpens the softmax and up-weights hard
// negatives; tau = 1 is plain cross-entropy. Its gradient w.r.t. z is
// (softmax(z / tau) - onehot(label)) / (tau * n_positions).
//
// "level" softmax: at decoder position t < L only level t's tokens take part (the others
// are masked to -inf before the softmax); at the eos position only eos (zero loss).
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "letter/rec/beam_search.h"
#include "letter/rec/vocab.h"

namespace letter::rec {

/// Label value ignored by the loss (HF's -100).
constexpr int64_t kIgnoreLabel = -100;

/// logits (B, T, V) float, labels (B, T) int64 (kIgnoreLabel = skip), tau > 0;
/// allowed (T, V) bool or undefined (= all tokens) restricts the softmax per position.
/// Returns the scalar mean loss.
torch::Tensor ranking_loss(const torch::Tensor& logits, const torch::Tensor& labels, double tau,
                           const torch::Tensor& allowed = {});

/// The (L + 1, V) per-position token mask of the "level" softmax (undefined for "all").
torch::Tensor softmax_mask(const CodeVocab& vocab, SoftmaxMode mode, const torch::Device& device);

}  // namespace letter::rec
