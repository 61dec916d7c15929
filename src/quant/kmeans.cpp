// k-means++ seeding and (size-constrained) Lloyd iterations; see kmeans.h.
#include "letter/quant/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/quant/assignment.h"

namespace letter::quant {

namespace {

// Uniform double in [0, 1) from a 64-bit engine, identical on every platform (unlike
// std::uniform_real_distribution, whose algorithm is implementation-defined).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

void check_points(const torch::Tensor& x, int64_t k) {
  LETTER_CHECK(x.defined() && x.dim() == 2, "k-means: points must be an (N, D) matrix, got ",
               x.defined() ? x.sizes() : torch::IntArrayRef{});
  LETTER_CHECK(x.size(0) > 0 && x.size(1) > 0, "k-means: no points (shape ", x.sizes(), ")");
  LETTER_CHECK(k >= 1, "k-means: K must be >= 1, got ", k);
  LETTER_CHECK(k <= x.size(0), "k-means: cannot form K = ", k, " clusters from N = ", x.size(0),
               " points (need K <= N)");
  LETTER_CHECK(torch::isfinite(x).all().item<bool>(), "k-means: points contain NaN or Inf");
}

}  // namespace

torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& c) {
  auto xd = x.to(torch::kFloat32), cd = c.to(torch::kFloat32);
  auto d = xd.pow(2).sum(1, true) + cd.pow(2).sum(1).unsqueeze(0) - 2.0 * torch::mm(xd, cd.t());
  return d.clamp_min(0).to(torch::kFloat64);
}

torch::Tensor kmeans_pp_init(const torch::Tensor& x_in, int64_t k, uint64_t seed) {
  check_points(x_in, k);
  torch::NoGradGuard no_grad;
  auto x = x_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t n = x.size(0);
  std::mt19937_64 rng(seed);
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  std::vector<int64_t> chosen;
  chosen.reserve(k);
  chosen.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(n)));
  auto xsq = x.pow(2).sum(1);  // (N)
  auto dist_to = [&](const torch::Tensor& rows) {  // (T, D) -> (T, N) float64 squared distances
    auto d = rows.pow(2).sum(1, true) + xsq.unsqueeze(0) - 2.0 * torch::mm(rows, x.t());
    return d.clamp_min(0).to(torch::kFloat64);
  };
  auto closest = dist_to(x.index({torch::indexing::Slice(chosen[0], chosen[0] + 1)}))
                     .squeeze(0)
                     .contiguous();  // (N) float64
  for (int64_t c = 1; c < k; ++c) {
    auto cum = closest.cumsum(0).contiguous();
    const double* cp = cum.data_ptr<double>();
    const double pot = cp[n - 1];
    std::vector<int64_t> cand(trials);
    for (int64_t t = 0; t < trials; ++t) {
      if (pot <= 0) {  // all remaining points coincide with centers: pick uniformly
        cand[t] = static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
        continue;
      }
      const double r = uniform01(rng) * pot;
      int64_t idx = std::upper_bound(cp, cp + n, r) - cp;
      cand[t] = std::min<int64_t>(idx, n - 1);
    }
    auto cand_t = torch::tensor(cand, torch::kInt64);
    auto dc = dist_to(x.index_select(0, cand_t));  // (T, N)
    auto new_closest = torch::minimum(dc, closest.unsqueeze(0));
    auto pots = new_closest.sum(1).contiguous();
    const double* pp = pots.data_ptr<double>();
    int64_t best = 0;
    for (int64_t t = 1; t < trials; ++t)
      if (pp[t] < pp[best]) best = t;
    chosen.push_back(cand[best]);
    closest = new_closest[best].contiguous();
  }
  return x.index_select(0, torch::tensor(chosen, torch::kInt64)).clone();
}

KMeansResult kmeans(const torch::Tensor& x_in, const KMeansOptions& o) {
  check_points(x_in, o.k);
  torch::NoGradGuard no_grad;
  auto x = x_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t n = x.size(0), d = x.size(1), k = o.k;
  const bool constrained = o.size_min > 0 || o.size_max > 0;
  const int64_t smin = o.size_min, smax = o.size_max > 0 ? o.size_max : n;
  LETTER_CHECK(o.n_init >= 1 && o.max_iter >= 1, "k-means: n_init and max_iter must be >= 1");
  if (constrained)
    LETTER_CHECK(k * smin <= n && k * smax >= n, "constrained k-means: ", n,
                 " points cannot fill ", k, " clusters of size ", smin, "..", smax,
                 " (need K*size_min <= N <= K*size_max)");
  // scikit-learn's tolerance: tol times the mean per-dimension variance of the data.
  auto xd = x.to(torch::kFloat64);
  const double tol = o.tol * (xd - xd.mean(0, true)).pow(2).mean().item<double>();

  // `prices`: the transport solver's dual prices, carried across one restart's Lloyd
  // iterations (warm start).
  auto assign = [&](const torch::Tensor& centers, double& inertia, std::vector<double>& prices) {
    auto dist = squared_distances(x, centers).contiguous();  // (N, K) float64
    std::vector<int64_t> labels;
    if (constrained) {
      TransportStats st;
      labels = constrained_assignment(dist, smin, smax, &st, &prices);
      inertia = st.cost;
    } else {
      auto am = dist.argmin(1).contiguous();
      labels.assign(am.data_ptr<int64_t>(), am.data_ptr<int64_t>() + n);
      const double* dp = dist.data_ptr<double>();
      inertia = 0.0;
      for (int64_t i = 0; i < n; ++i) inertia += dp[i * k + labels[i]];
    }
    return torch::tensor(labels, torch::kInt64);
  };
  auto update = [&](const torch::Tensor& labels, const torch::Tensor& old) {
    auto sums = torch::zeros({k, d}, torch::kFloat64).index_add_(0, labels, x.to(torch::kFloat64));
    auto counts = torch::bincount(labels, {}, k).to(torch::kFloat64);
    auto centers = (sums / counts.clamp_min(1).unsqueeze(1)).to(torch::kFloat32);
    // Empty clusters (only possible without size_min) keep their previous center.
    auto empty = (counts == 0).unsqueeze(1);
    return torch::where(empty, old, centers);
  };

  // Restarts are independent (own seed each), so they run in parallel, one single-threaded
  // restart per thread; the result does not depend on the thread count.
  std::vector<KMeansResult> runs(o.n_init);
  for_each_parallel(o.n_init, /*parallel=*/true, [&](int64_t r) {
    const uint64_t seed = derive_seed(o.seed, "kmeans.restart." + std::to_string(r));
    auto centers = kmeans_pp_init(x, k, seed);
    std::vector<double> prices;
    torch::Tensor labels;
    double inertia = 0;
    int64_t it = 0;
    for (; it < o.max_iter; ++it) {
      labels = assign(centers, inertia, prices);
      auto next = update(labels, centers);
      const double shift = (next - centers).pow(2).sum().item<double>();
      centers = next;
      if (shift <= tol) {
        ++it;
        break;
      }
    }
    // Final E-step so that labels and inertia match the returned centers.
    labels = assign(centers, inertia, prices);
    runs[r].centers = centers;
    runs[r].labels = labels;
    runs[r].inertia = inertia;
    runs[r].iterations = it;
  });
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (auto& run : runs)  // lowest inertia; the first restart on ties
    if (run.inertia < best.inertia) best = std::move(run);
  return best;
}

}  // namespace letter::quant
