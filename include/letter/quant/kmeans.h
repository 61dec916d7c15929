// k-means with k-means++ seeding, plain (Lloyd) or size-constrained (every cluster holds
// between size_min and size_max points, assignment step solved exactly by
// constrained_assignment). The constrained variant reproduces what the official LETTER code
// gets from the k_means_constrained package (algorithms.md b.2 codebook initialisation,
// b.5 diversity clusters): k-means++ init, max_iter Lloyd steps, n_init restarts, best
// inertia kept, final labels consistent with the returned centers.
//
// Shapes: x (N, D) float32 points, centers (K, D) float32, labels (N) int64.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace letter::quant {

/// k-means settings.
struct KMeansOptions {
  int64_t k = 256;         ///< clusters K (1..N)
  int64_t max_iter = 10;   ///< Lloyd iterations per restart (LETTER: 10)
  int64_t n_init = 10;     ///< restarts with different seeds; the lowest inertia wins (LETTER: 10)
  double tol = 1e-4;       ///< stop when the total squared center shift <= tol * mean variance
  /// Minimum cluster size; 0 with size_max = 0 means unconstrained k-means.
  int64_t size_min = 0;
  /// Maximum cluster size; 0 = no upper bound (N).
  int64_t size_max = 0;
  uint64_t seed = 42;      ///< restart r uses a seed derived from (seed, r)
};

/// Result of k-means.
struct KMeansResult {
  torch::Tensor centers;  ///< (K, D) float32
  torch::Tensor labels;   ///< (N) int64, assignment of each point (respects the size bounds)
  double inertia = 0.0;   ///< sum of squared distances of points to their assigned centers
  int64_t iterations = 0;  ///< Lloyd iterations of the winning restart
};

/// Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with 2 + ln K local trials per
/// center as in scikit-learn): returns (K, D) rows of x. Deterministic for a given seed.
/// Throws when K > N or x is empty.
torch::Tensor kmeans_pp_init(const torch::Tensor& x, int64_t k, uint64_t seed);

/// Squared Euclidean distances (N, K) float64 between x (N, D) and c (K, D).
torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& c);

/// Runs k-means (constrained when size_min > 0 or size_max > 0). Throws letter::Error on
/// K > N, infeasible bounds (K * size_min > N or K * size_max < N) or non-finite input.
KMeansResult kmeans(const torch::Tensor& x, const KMeansOptions& options);

}  // namespace letter::quant
