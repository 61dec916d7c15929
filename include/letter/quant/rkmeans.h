// Residual size-constrained k-means: the tokenizer method rkmeans (no training) and the
// RQ-VAE's codebook initialisation (algorithms.md b.2), level by level over the residuals.
//
// Shapes: N items, D size of the clustered vectors, L levels, K codes per level.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "letter/quant/kmeans.h"
#include "letter/quant/options.h"

namespace letter::quant {

/// Size bounds of the codebook-initialisation k-means (b.2): size_min = min(N / 2K, 50),
/// size_max = max(4 size_min, ceil(N / K)) (the official code hard-codes K = 256 and
/// 4 size_min; the ceil keeps small N feasible).
std::pair<int64_t, int64_t> init_size_bounds(int64_t n, int64_t k);

/// The constrained k-means settings of a tokenizer run (tokenizer.kmeans_iters,
/// kmeans_restarts) for k clusters of smin..smax points.
KMeansOptions tokenizer_kmeans_options(const TokenizerOptions& t, int64_t k, int64_t smin, int64_t smax,
                                       uint64_t seed);

/// Residual k-means (method rkmeans): level by level, size-constrained k-means (bounds of
/// init_size_bounds) of the residuals of the input embeddings; argmin codes.
struct ResidualKMeans {
  std::vector<torch::Tensor> codebooks;  ///< L x (K, D_in)
  torch::Tensor codes;                   ///< (N, L) int64 argmin codes
  torch::Tensor residual_last;           ///< (N, D_in)
  double recon_mse = 0;                  ///< MSE(sum of code vectors, x)
};
ResidualKMeans residual_kmeans(const TokenizerOptions& t, const torch::Tensor& x, uint64_t seed);

/// The level loop shared by residual_kmeans and the RQ-VAE codebook initialisation (b.2):
/// level l's seed is derive_seed(seed, stream + "." + l); logs per level at info when
/// verbose, else at debug.
ResidualKMeans fit_residual_levels(const TokenizerOptions& t, torch::Tensor r, uint64_t seed,
                                   const std::string& stream, bool verbose);

}  // namespace letter::quant
