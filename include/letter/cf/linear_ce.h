// Fused "linear + softmax cross-entropy" over a large item catalog: the mean over P rows of
// -log softmax(h E^T)[target], computed without materialising the (P, N) logits. Rows are
// processed in cache-sized chunks; for each chunk the logits, their log-sum-exp, the loss
// and the gradient (softmax - onehot) / P are formed in one buffer, which is immediately
// multiplied into dL/dh (= G E) and dL/dE (+= G^T h). backward() only scales the stored
// gradients by the incoming scalar. Same value and gradients as
// cross_entropy(matmul(h, E^T), targets) up to float rounding, at a fraction of the memory
// traffic (the idea of "Cut Your Losses in Large-Vocabulary Language Models", Wijmans et
// al. 2024, and Liger-Kernel's fused linear cross-entropy, done here with plain ATen ops).
//
// Dimension letters: P rows (target positions), d hidden, N classes (items).
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace letter {

/// h: (P, d) float, E: (N, d) float (same dtype and device), targets: (P,) int64 in [0, N).
/// Returns the scalar mean cross-entropy; differentiable w.r.t. h and E (each only when it
/// requires grad). chunk = rows per block; 0 = automatic (about 2 MiB of logits per block).
torch::Tensor linear_cross_entropy(const torch::Tensor& h, const torch::Tensor& E,
                                   const torch::Tensor& targets, int64_t chunk = 0);

}  // namespace letter
