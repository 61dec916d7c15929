// LETTER's regularisers, vectorised over the batch (algorithms.md b.5, b.6).
//
// Shapes: B batch, K codes per level, D = e_dim, G diversity clusters.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace letter::quant {

/// Collaborative regulariser (b.6): in-batch cross-entropy with logits S = zq cf^T (B, B)
/// and target j = i; one direction, no normalisation, no temperature. zq (B, D) is the
/// straight-through quantized latent, cf (B, D) the fixed CF vectors of the same items
/// (treated as a constant). Returns a scalar (mean over the batch).
torch::Tensor collaborative_loss(const torch::Tensor& zq, const torch::Tensor& cf);

/// Diversity clusters of one codebook, in the layout the sampler needs.
struct CodeClusters {
  torch::Tensor label;    ///< (K) int64, cluster of each code
  torch::Tensor members;  ///< (K) int64, codes sorted by cluster (stable: by code within)
  torch::Tensor start;    ///< (G) int64, offset of each cluster's first member in `members`
  torch::Tensor size;     ///< (G) int64, members per cluster
  torch::Tensor rank;     ///< (K) int64, position of each code inside its cluster

  /// Builds the layout from labels (K) int64 in [0, G).
  static CodeClusters from_labels(const torch::Tensor& labels, int64_t groups);
};

/// Draws for every selected code c (B) a positive p != c uniformly from c's cluster (b.5).
/// Returns (B) int64; entries whose cluster has no other member get -1 (no positive).
/// `gen` drives the draw (deterministic for a seeded generator).
torch::Tensor sample_positives(const CodeClusters& clusters, const torch::Tensor& codes,
                               torch::Generator gen);

/// Diversity regulariser (b.5) of one level: logits s_k = e_c . e_k over all K codes
/// (raw dot product, temperature 1) with the code's own logit excluded, cross-entropy
/// toward the positive p; mean over samples with a positive (entries of `positives` < 0
/// are skipped; 0 when none has one). codebook (K, D) receives gradients through both e_c
/// (= codebook[codes]) and e_k.
torch::Tensor diversity_loss(const torch::Tensor& codebook, const torch::Tensor& codes,
                             const torch::Tensor& positives);

}  // namespace letter::quant
