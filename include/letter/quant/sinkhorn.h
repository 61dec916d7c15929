// Sinkhorn-balanced code assignment (algorithms.md b.3), used at the RQ-VAE levels whose
// epsilon is > 0 during training: the B x K distances are centred to [-1, 1], turned into
// Q = exp(-d'/eps) in float64, normalised to total 1, then `iters` times every row is scaled
// to sum 1/B and every column to 1/K; finally Q *= B and code = argmax_k Q[i, k].
//
// Implementation: the alternating scalings are kept as vectors (Q = diag(u) Q0 diag(v)),
// so one iteration costs two matrix-vector products instead of four passes over Q; the
// result is the same matrix (Sinkhorn-Knopp in scaling form).
//
// Shapes: d (B, K) distances (any floating dtype), codes (B) int64, Q (B, K) float64.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace letter::quant {

/// Balanced codes for distances d (B, K). Returns (B) int64 codes on d's device. When `q`
/// is non-null it receives the final transport plan Q (B, K) float64 (rows sum to 1,
/// columns to B/K after the last column step). Throws on eps <= 0, iters < 1, or a
/// non-finite plan (warns are not enough: NaN codes would silently corrupt training).
torch::Tensor sinkhorn_codes(const torch::Tensor& d, double eps, int64_t iters,
                             torch::Tensor* q = nullptr);

}  // namespace letter::quant
