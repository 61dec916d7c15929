// Exact assignment solvers used by the quant module:
//  - min_cost_assignment: rectangular linear assignment (Hungarian method in the shortest
//    augmenting path form of Jonker & Volgenant, O(n^2 m)); used to resolve code collisions
//    (algorithms.md b.8, "Better").
//  - constrained_assignment: each of N points to one of K clusters with every cluster size
//    in [size_min, size_max], minimising the total cost exactly. This is the assignment step
//    of size-constrained k-means (algorithms.md b.2, b.5; the k_means_constrained package
//    solves the same problem with OR-tools' min-cost flow on the N x K bipartite graph).
//
// Shapes: N points (rows), K clusters / m columns. Costs are row-major doubles.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace letter::quant {

/// Minimum-cost assignment of the n rows of an (n, m) cost matrix to distinct columns,
/// n <= m. Returns the column of each row. Exact (up to floating-point ties, broken toward
/// lower indices deterministically). Throws when n > m or a cost is not finite.
std::vector<int64_t> min_cost_assignment(const std::vector<double>& cost, int64_t n, int64_t m);

/// Tensor overload: cost (n, m), any floating dtype, n <= m.
std::vector<int64_t> min_cost_assignment(const torch::Tensor& cost);

/// What the constrained assignment did.
struct TransportStats {
  int64_t augmentations = 0;  ///< unit moves along shortest paths after the argmin start
  double cost = 0.0;          ///< total cost of the returned assignment
};

/// Size-constrained assignment: labels[i] in [0, K) with size_min <= |{i: labels[i]=k}| <=
/// size_max for every k, minimising sum_i cost[i][labels[i]]. Exact min-cost flow:
/// start from the unconstrained argmin (optimal for its own cluster sizes), then successive
/// shortest paths with Dijkstra potentials on the (K + 1)-node residual graph whose nodes are
/// the clusters and the sink, an arc a -> b carrying the cheapest move of a point from a to
/// b. Each augmentation moves one unit of size violation; rows of the move matrix are
/// updated incrementally, so a call costs O(N K + A (K^2 + K |cluster|)) for A augmentations.
/// Throws when K * size_min > N or K * size_max < N (infeasible) or a cost is not finite.
///
/// `prices` (optional, in/out): dual prices p (K) such that the optimum assigns every point
/// to argmin_k cost[i][k] - p[k]. On input, a warm start (e.g. the previous Lloyd
/// iteration's prices: the start is then nearly feasible and few augmentations remain);
/// empty = zeros. On output, the optimal prices. The result is optimal either way.
std::vector<int64_t> constrained_assignment(const std::vector<double>& cost, int64_t n, int64_t k,
                                            int64_t size_min, int64_t size_max,
                                            TransportStats* stats = nullptr,
                                            std::vector<double>* prices = nullptr);

/// Tensor overload: cost (N, K), any floating dtype.
std::vector<int64_t> constrained_assignment(const torch::Tensor& cost, int64_t size_min,
                                            int64_t size_max, TransportStats* stats = nullptr,
                                            std::vector<double>* prices = nullptr);

}  // namespace letter::quant
