// Exact assignment solvers (see assignment.h). Both are written from the textbook
// algorithms: the Hungarian method in its shortest-augmenting-path form with row/column
// potentials, and successive shortest paths (SSP) for min-cost flow with reduced costs
// c(u,v) + pi(u) - pi(v) >= 0 kept non-negative by potential updates after each Dijkstra.
#include "letter/quant/assignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "letter/common/error.h"

namespace letter::quant {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<double> to_double_matrix(const torch::Tensor& cost, const char* what) {
  LETTER_CHECK(cost.dim() == 2, what, ": cost must be a 2-d matrix, got shape ", cost.sizes());
  LETTER_CHECK(cost.is_floating_point(), what, ": cost must be floating point, got ",
               cost.scalar_type());
  auto c = cost.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

void check_finite(const std::vector<double>& cost, const char* what) {
  for (size_t i = 0; i < cost.size(); ++i)
    LETTER_CHECK(std::isfinite(cost[i]), what, ": cost entry ", i, " is not finite (", cost[i], ")");
}

}  // namespace

std::vector<int64_t> min_cost_assignment(const std::vector<double>& cost, int64_t n, int64_t m) {
  LETTER_CHECK(n >= 0 && m >= 0 && static_cast<int64_t>(cost.size()) == n * m,
               "min_cost_assignment: cost has ", cost.size(), " entries, expected ", n, " x ", m);
  LETTER_CHECK(n <= m, "min_cost_assignment: ", n, " rows cannot go to distinct columns of only ",
               m, " columns");
  check_finite(cost, "min_cost_assignment");
  if (n == 0) return {};
  // 1-based arrays; column 0 is the virtual start column of each augmentation.
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0), minv(m + 1);
  std::vector<int64_t> p(m + 1, 0), way(m + 1, 0);
  std::vector<char> used(m + 1);
  for (int64_t i = 1; i <= n; ++i) {
    p[0] = i;
    int64_t j0 = 0;
    std::fill(minv.begin(), minv.end(), kInf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const int64_t i0 = p[j0];
      const double* row = cost.data() + (i0 - 1) * m;
      double delta = kInf;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double cur = row[j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int64_t j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {  // flip the augmenting path
      const int64_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int64_t> col(n, -1);
  for (int64_t j = 1; j <= m; ++j)
    if (p[j] != 0) col[p[j] - 1] = j - 1;
  return col;
}

std::vector<int64_t> min_cost_assignment(const torch::Tensor& cost) {
  auto c = to_double_matrix(cost, "min_cost_assignment");
  return min_cost_assignment(c, cost.size(0), cost.size(1));
}

namespace {

// State of the size-constrained transport problem (see constrained_assignment in the header).
// Nodes 0..K-1 are clusters, node K is the sink T. f[k] is the flow on the arc k -> T (the
// number of k's points "absorbed"), kept within [size_min, size_max]; the excess of cluster k
// is size[k] - f[k] and the excess of T is sum(f) - N. Residual arcs:
//   a -> b  move a point from a to b, cost min_{i in a} (c[i][b] - c[i][a])  (W[a][b])
//   k -> T  if f[k] < size_max, cost 0;   T -> k  if f[k] > size_min, cost 0.
// W is maintained incrementally: a point joining b can only lower row b (O(K)); a point
// leaving a re-scans a's members only for the entries it was the minimiser of.
class Transport {
 public:
  Transport(const double* cost, int64_t n, int64_t k, int64_t smin, int64_t smax)
      : c_(cost), n_(n), k_(k), smin_(smin), smax_(smax) {}

  std::vector<int64_t> solve(TransportStats* stats, std::vector<double>* prices) {
    pi_.assign(k_ + 1, 0.0);
    int64_t cold_excess = start(pi_);
    if (prices && static_cast<int64_t>(prices->size()) == k_) {
      // Warm start from given prices, when it leaves less to repair than the cold (argmin)
      // start. Prices within a relative 1e-12 of zero are zero: interior clusters, whose price
      // equals the sink's up to rounding.
      double scale = 1.0;
      for (int64_t j = 0; j < k_; ++j) scale = std::max(scale, std::fabs((*prices)[j]));
      std::vector<double> warm(k_ + 1, 0.0);
      for (int64_t j = 0; j < k_; ++j)
        warm[j] = std::fabs((*prices)[j]) <= 1e-12 * scale ? 0.0 : (*prices)[j];
      auto cold_label = label_;
      auto cold_f = f_;
      const int64_t cold_sum_f = sum_f_;
      if (start(warm) < cold_excess) {
        pi_ = warm;
      } else {
        label_ = std::move(cold_label);
        f_ = std::move(cold_f);
        sum_f_ = cold_sum_f;
      }
    }
    build_members();
    w_.assign(k_ * k_, kInf);
    warg_.assign(k_ * k_, -1);
    for (int64_t a = 0; a < k_; ++a) build_row(a);
    int64_t augmentations = 0;
    std::vector<double> dist(k_ + 1);
    std::vector<int64_t> prev(k_ + 1);
    std::vector<char> done(k_ + 1);
    const int64_t T = k_;
    while (has_excess()) {
      // Multi-source Dijkstra from every node with positive excess, dense O((K+1)^2).
      std::fill(dist.begin(), dist.end(), kInf);
      std::fill(prev.begin(), prev.end(), -1);
      std::fill(done.begin(), done.end(), 0);
      for (int64_t v = 0; v <= T; ++v)
        if (excess(v) > 0) dist[v] = 0.0;
      int64_t target = -1;
      for (;;) {
        int64_t u = -1;
        double best = kInf;
        for (int64_t v = 0; v <= T; ++v)
          if (!done[v] && dist[v] < best) {
            best = dist[v];
            u = v;
          }
        LETTER_CHECK(u >= 0, "constrained_assignment: no augmenting path (infeasible bounds?)");
        done[u] = 1;
        if (excess(u) < 0) {
          target = u;
          break;
        }
        if (u < k_) {
          if (!members_[u].empty()) {
            const double* wrow = w_.data() + u * k_;
            const double du = dist[u] + pi_[u];
            for (int64_t v = 0; v < k_; ++v) {
              if (done[v] || v == u) continue;
              const double nd = std::max(dist[u], du + wrow[v] - pi_[v]);
              if (nd < dist[v]) {
                dist[v] = nd;
                prev[v] = u;
              }
            }
          }
          if (f_[u] < smax_ && !done[T]) {
            const double nd = dist[u] + std::max(0.0, pi_[u] - pi_[T]);
            if (nd < dist[T]) {
              dist[T] = nd;
              prev[T] = u;
            }
          }
        } else {
          for (int64_t v = 0; v < k_; ++v) {
            if (done[v] || f_[v] <= smin_) continue;
            const double nd = dist[u] + std::max(0.0, pi_[T] - pi_[v]);
            if (nd < dist[v]) {
              dist[v] = nd;
              prev[v] = u;
            }
          }
        }
      }
      const double dt = dist[target];
      for (int64_t v = 0; v <= T; ++v) pi_[v] += std::min(dist[v], dt);
      // Collect the path (target back to a source), then apply it: the arcs refer to the
      // memberships before this augmentation, so the moves are computed first.
      std::vector<std::pair<int64_t, int64_t>> moves;  // (point, destination)
      for (int64_t v = target; prev[v] >= 0; v = prev[v]) {
        const int64_t a = prev[v], b = v;
        if (a < k_ && b < k_) {
          moves.emplace_back(warg_[a * k_ + b], b);
        } else if (b == T) {
          ++f_[a];
          ++sum_f_;
        } else {
          --f_[b];
          --sum_f_;
        }
      }
      for (auto [i, b] : moves) move(i, b);
      ++augmentations;
    }
    double total = 0.0;
    for (int64_t i = 0; i < n_; ++i) total += c_[i * k_ + label_[i]];
    if (stats) {
      stats->augmentations = augmentations;
      stats->cost = total;
    }
    if (prices) {
      prices->resize(k_);
      for (int64_t j = 0; j < k_; ++j) (*prices)[j] = pi_[j] - pi_[k_];
    }
    return label_;
  }

 private:
  int64_t excess(int64_t v) const {
    if (v < k_) return static_cast<int64_t>(members_[v].size()) - f_[v];
    return sum_f_ - n_;
  }
  bool has_excess() const {
    for (int64_t v = 0; v <= k_; ++v)
      if (excess(v) > 0) return true;
    return false;
  }

  // Start: every point at argmin_k c[i][k] - pi[k] (all cluster arcs then have reduced
  // cost >= 0); the sink flows f[k] are chosen so that the sink arcs that exist have reduced
  // cost >= 0 too: pi[k] > pi[T] allows only k -> T (f = size_min), pi[k] < pi[T] only
  // T -> k (f = size_max), equal prices any f (closest to the cluster's size). Sets label_,
  // f_, sum_f_; returns the total positive excess left to repair.
  int64_t start(const std::vector<double>& pi) {
    label_.assign(n_, 0);
    std::vector<int64_t> size(k_, 0);
    for (int64_t i = 0; i < n_; ++i) {
      const double* row = c_ + i * k_;
      int64_t best = 0;
      double bv = row[0] - pi[0];
      for (int64_t j = 1; j < k_; ++j)
        if (row[j] - pi[j] < bv) {
          bv = row[j] - pi[j];
          best = j;
        }
      label_[i] = best;
      ++size[best];
    }
    f_.assign(k_, 0);
    sum_f_ = 0;
    int64_t pos = 0;
    for (int64_t j = 0; j < k_; ++j) {
      if (pi[j] > pi[k_])
        f_[j] = smin_;
      else if (pi[j] < pi[k_])
        f_[j] = smax_;
      else
        f_[j] = std::clamp<int64_t>(size[j], smin_, smax_);
      sum_f_ += f_[j];
      pos += std::max<int64_t>(0, size[j] - f_[j]);
    }
    return pos + std::max<int64_t>(0, sum_f_ - n_);
  }

  void build_members() {
    members_.assign(k_, {});
    pos_.assign(n_, 0);
    for (int64_t i = 0; i < n_; ++i) {
      pos_[i] = static_cast<int64_t>(members_[label_[i]].size());
      members_[label_[i]].push_back(i);
    }
  }

  // Row a from scratch: O(|a| K).
  void build_row(int64_t a) {
    double* wrow = w_.data() + a * k_;
    int64_t* arow = warg_.data() + a * k_;
    std::fill(wrow, wrow + k_, kInf);
    std::fill(arow, arow + k_, int64_t{-1});
    for (int64_t i : members_[a]) lower_row(a, i);
  }

  // Point i (a member of a) lowers row a where it is the cheaper mover. Ties keep the
  // earlier minimiser, so the result is a deterministic function of the move order.
  void lower_row(int64_t a, int64_t i) {
    double* wrow = w_.data() + a * k_;
    int64_t* arow = warg_.data() + a * k_;
    const double* row = c_ + i * k_;
    const double base = row[a];
    for (int64_t b = 0; b < k_; ++b) {
      const double d = row[b] - base;
      if (d < wrow[b]) {
        wrow[b] = d;
        arow[b] = i;
      }
    }
  }

  void move(int64_t i, int64_t to) {
    const int64_t from = label_[i];
    auto& src = members_[from];
    const int64_t p = pos_[i];
    src[p] = src.back();
    pos_[src[p]] = p;
    src.pop_back();
    pos_[i] = static_cast<int64_t>(members_[to].size());
    members_[to].push_back(i);
    label_[i] = to;
    // Row `from`: re-scan only the entries i was the minimiser of.
    double* wrow = w_.data() + from * k_;
    int64_t* arow = warg_.data() + from * k_;
    for (int64_t b = 0; b < k_; ++b) {
      if (arow[b] != i) continue;
      double best = kInf;
      int64_t arg = -1;
      for (int64_t j : src) {
        const double d = c_[j * k_ + b] - c_[j * k_ + from];
        if (d < best) {
          best = d;
          arg = j;
        }
      }
      wrow[b] = best;
      arow[b] = arg;
    }
    lower_row(to, i);
  }

  const double* c_;
  int64_t n_, k_, smin_, smax_;
  int64_t sum_f_ = 0;
  std::vector<int64_t> label_, pos_, f_;
  std::vector<std::vector<int64_t>> members_;
  std::vector<double> w_, pi_;
  std::vector<int64_t> warg_;
};

}  // namespace

std::vector<int64_t> constrained_assignment(const std::vector<double>& cost, int64_t n, int64_t k,
                                            int64_t size_min, int64_t size_max,
                                            TransportStats* stats, std::vector<double>* prices) {
  LETTER_CHECK(n >= 1 && k >= 1 && static_cast<int64_t>(cost.size()) == n * k,
               "constrained_assignment: cost has ", cost.size(), " entries, expected ", n, " x ", k);
  LETTER_CHECK(size_min >= 0 && size_min <= size_max, "constrained_assignment: need 0 <= size_min (",
               size_min, ") <= size_max (", size_max, ")");
  LETTER_CHECK(k * size_min <= n && k * size_max >= n, "constrained_assignment: ", n,
               " points cannot fill ", k, " clusters of size ", size_min, "..", size_max,
               " (need K*size_min <= N <= K*size_max)");
  check_finite(cost, "constrained_assignment");
  return Transport(cost.data(), n, k, size_min, size_max).solve(stats, prices);
}

std::vector<int64_t> constrained_assignment(const torch::Tensor& cost, int64_t size_min,
                                            int64_t size_max, TransportStats* stats,
                                            std::vector<double>* prices) {
  LETTER_CHECK(cost.dim() == 2 && cost.is_floating_point(),
               "constrained_assignment: cost must be a floating (N, K) matrix, got ", cost.sizes());
  auto c = cost.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t n = c.size(0), k = c.size(1);
  LETTER_CHECK(n >= 1 && k >= 1, "constrained_assignment: empty cost matrix");
  LETTER_CHECK(size_min >= 0 && size_min <= size_max, "constrained_assignment: need 0 <= size_min (",
               size_min, ") <= size_max (", size_max, ")");
  LETTER_CHECK(k * size_min <= n && k * size_max >= n, "constrained_assignment: ", n,
               " points cannot fill ", k, " clusters of size ", size_min, "..", size_max,
               " (need K*size_min <= N <= K*size_max)");
  LETTER_CHECK(torch::isfinite(c).all().item<bool>(), "constrained_assignment: cost contains NaN or Inf");
  return Transport(c.data_ptr<double>(), n, k, size_min, size_max).solve(stats, prices);
}

}  // namespace letter::quant
