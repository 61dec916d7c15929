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

namespace {

// A LibTorch matmul call costs a few microseconds of dispatch; below this many
// multiply-adds a plain loop is faster. The diversity clusters (256 codes x 10 centres x 32
// dimensions, 40 k-means runs per epoch) live far below it, the codebook initialisation
// (12,101 x 256 x 32) far above.
constexpr int64_t kBlasMinMacs = int64_t{1} << 17;

std::vector<float> row_norms(const float* a, int64_t n, int64_t d) {
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i) {
    float s = 0;
    for (int64_t t = 0; t < d; ++t) s += a[i * d + t] * a[i * d + t];
    out[i] = s;
  }
  return out;
}

// out (n, k), row-major float64: max(0, |a_i|^2 + |b_j|^2 - 2 a_i . b_j), the terms in
// float32 (the cross term from BLAS when large enough to pay for the call).
void pair_distances(const float* a, const float* asq, int64_t n, const float* b, const float* bsq,
                    int64_t k, int64_t d, double* out) {
  if (n * k * d >= kBlasMinMacs) {
    auto at = torch::from_blob(const_cast<float*>(a), {n, d});
    auto bt = torch::from_blob(const_cast<float*>(b), {k, d});
    auto cross = torch::mm(at, bt.t()).contiguous();
    const float* cp = cross.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        out[i * k + j] = std::max(0.0f, asq[i] + bsq[j] - 2.0f * cp[i * k + j]);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float* ai = a + i * d;
    for (int64_t j = 0; j < k; ++j) {
      const float* bj = b + j * d;
      float dot = 0;
      for (int64_t t = 0; t < d; ++t) dot += ai[t] * bj[t];
      out[i * k + j] = std::max(0.0f, asq[i] + bsq[j] - 2.0f * dot);
    }
  }
}

// float32 (N, D) contiguous CPU copy of the points (a view when already so).
torch::Tensor as_points(const torch::Tensor& x) { return x.to(torch::kCPU, torch::kFloat32).contiguous(); }

// k-means++ seeding on raw rows: indices of the K chosen points.
std::vector<int64_t> kmeans_pp_rows(const float* x, const float* xsq, int64_t n, int64_t d, int64_t k,
                                    uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  std::vector<int64_t> chosen;
  chosen.reserve(k);
  chosen.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(n)));
  std::vector<double> closest(n), cum(n), dc(trials * n);
  pair_distances(x + chosen[0] * d, xsq + chosen[0], 1, x, xsq, n, d, closest.data());
  std::vector<int64_t> cand(trials);
  std::vector<float> rows(trials * d), rowsq(trials);
  for (int64_t c = 1; c < k; ++c) {
    double run = 0;
    for (int64_t i = 0; i < n; ++i) cum[i] = run += closest[i];
    const double pot = cum[n - 1];
    for (int64_t t = 0; t < trials; ++t) {
      if (pot <= 0) {  // all remaining points coincide with centers: pick uniformly
        cand[t] = static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
        continue;
      }
      const double r = uniform01(rng) * pot;
      const int64_t idx = std::upper_bound(cum.begin(), cum.end(), r) - cum.begin();
      cand[t] = std::min<int64_t>(idx, n - 1);
    }
    for (int64_t t = 0; t < trials; ++t) {
      std::copy(x + cand[t] * d, x + (cand[t] + 1) * d, rows.begin() + t * d);
      rowsq[t] = xsq[cand[t]];
    }
    pair_distances(rows.data(), rowsq.data(), trials, x, xsq, n, d, dc.data());  // (T, N)
    int64_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (int64_t t = 0; t < trials; ++t) {
      double p = 0;
      for (int64_t i = 0; i < n; ++i) p += dc[t * n + i] = std::min(dc[t * n + i], closest[i]);
      if (p < best_pot) {
        best_pot = p;
        best = t;
      }
    }
    chosen.push_back(cand[best]);
    std::copy(dc.begin() + best * n, dc.begin() + (best + 1) * n, closest.begin());
  }
  return chosen;
}

}  // namespace

torch::Tensor squared_distances(const torch::Tensor& x_in, const torch::Tensor& c_in) {
  auto x = as_points(x_in), c = as_points(c_in);
  LETTER_CHECK(x.dim() == 2 && c.dim() == 2 && x.size(1) == c.size(1), "squared_distances: (N, D) and (K, D) expected, got ",
               x.sizes(), " and ", c.sizes());
  const int64_t n = x.size(0), k = c.size(0), d = x.size(1);
  auto out = torch::empty({n, k}, torch::kFloat64);
  auto xsq = row_norms(x.data_ptr<float>(), n, d), csq = row_norms(c.data_ptr<float>(), k, d);
  pair_distances(x.data_ptr<float>(), xsq.data(), n, c.data_ptr<float>(), csq.data(), k, d, out.data_ptr<double>());
  return out;
}

torch::Tensor kmeans_pp_init(const torch::Tensor& x_in, int64_t k, uint64_t seed) {
  check_points(x_in, k);
  auto x = as_points(x_in);
  const int64_t n = x.size(0), d = x.size(1);
  auto xsq = row_norms(x.data_ptr<float>(), n, d);
  auto rows = kmeans_pp_rows(x.data_ptr<float>(), xsq.data(), n, d, k, seed);
  return x.index_select(0, torch::tensor(rows, torch::kInt64)).clone();
}

KMeansResult kmeans(const torch::Tensor& x_in, const KMeansOptions& o) {
  check_points(x_in, o.k);
  auto xt = as_points(x_in);
  const float* x = xt.data_ptr<float>();
  const int64_t n = xt.size(0), d = xt.size(1), k = o.k;
  const bool constrained = o.size_min > 0 || o.size_max > 0;
  const int64_t smin = o.size_min, smax = o.size_max > 0 ? o.size_max : n;
  LETTER_CHECK(o.n_init >= 1 && o.max_iter >= 1, "k-means: n_init and max_iter must be >= 1");
  if (constrained)
    LETTER_CHECK(k * smin <= n && k * smax >= n, "constrained k-means: ", n,
                 " points cannot fill ", k, " clusters of size ", smin, "..", smax,
                 " (need K*size_min <= N <= K*size_max)");
  const auto xsq = row_norms(x, n, d);
  // scikit-learn's tolerance: tol times the mean per-dimension variance of the data.
  double var = 0;
  {
    std::vector<double> mean(d, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t t = 0; t < d; ++t) mean[t] += x[i * d + t];
    for (auto& m : mean) m /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t t = 0; t < d; ++t) var += (x[i * d + t] - mean[t]) * (x[i * d + t] - mean[t]);
    var /= static_cast<double>(n * d);
  }
  const double tol = o.tol * var;

  struct Run {
    std::vector<float> centers;
    std::vector<int64_t> labels;
    double inertia = 0;
    int64_t iterations = 0;
  };
  // Restarts are independent (own seed each), so they run in parallel, one single-threaded
  // restart per thread; the result does not depend on the thread count.
  std::vector<Run> runs(o.n_init);
  for_each_parallel(o.n_init, /*parallel=*/true, [&](int64_t r) {
    const uint64_t seed = derive_seed(o.seed, "kmeans.restart." + std::to_string(r));
    Run& run = runs[r];
    run.centers.resize(k * d);
    const auto init = kmeans_pp_rows(x, xsq.data(), n, d, k, seed);
    for (int64_t j = 0; j < k; ++j) std::copy(x + init[j] * d, x + (init[j] + 1) * d, run.centers.begin() + j * d);
    std::vector<double> dist(n * k), sums(k * d), prices;
    std::vector<int64_t> counts(k);
    std::vector<float> next(k * d);
    // E-step: labels and inertia for the current centers. `prices`: the transport
    // solver's dual prices, carried across one restart's Lloyd iterations (warm start).
    auto assign = [&] {
      const auto csq = row_norms(run.centers.data(), k, d);
      pair_distances(x, xsq.data(), n, run.centers.data(), csq.data(), k, d, dist.data());
      if (constrained) {
        TransportStats st;
        run.labels = constrained_assignment(dist, n, k, smin, smax, &st, &prices);
        run.inertia = st.cost;
        return;
      }
      run.labels.resize(n);
      run.inertia = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double* di = dist.data() + i * k;
        const int64_t j = std::min_element(di, di + k) - di;  // first minimum, as argmin
        run.labels[i] = j;
        run.inertia += di[j];
      }
    };
    for (run.iterations = 0; run.iterations < o.max_iter;) {
      assign();
      // M-step: cluster means (float64 sums); an empty cluster (only possible without
      // size_min) keeps its previous center.
      std::fill(sums.begin(), sums.end(), 0.0);
      std::fill(counts.begin(), counts.end(), 0);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j = run.labels[i];
        ++counts[j];
        for (int64_t t = 0; t < d; ++t) sums[j * d + t] += x[i * d + t];
      }
      double shift = 0;
      for (int64_t j = 0; j < k; ++j)
        for (int64_t t = 0; t < d; ++t) {
          const float c = counts[j] == 0 ? run.centers[j * d + t]
                                         : static_cast<float>(sums[j * d + t] / static_cast<double>(counts[j]));
          const double delta = static_cast<double>(c) - run.centers[j * d + t];
          shift += delta * delta;
          next[j * d + t] = c;
        }
      run.centers.swap(next);
      ++run.iterations;
      if (shift <= tol) break;
    }
    assign();  // final E-step: labels and inertia match the returned centers
  });
  size_t best = 0;  // lowest inertia; the first restart on ties
  for (size_t r = 1; r < runs.size(); ++r)
    if (runs[r].inertia < runs[best].inertia) best = r;
  KMeansResult out;
  out.centers = torch::from_blob(runs[best].centers.data(), {k, d}, torch::kFloat32).clone();
  out.labels = torch::tensor(runs[best].labels, torch::kInt64);
  out.inertia = runs[best].inertia;
  out.iterations = runs[best].iterations;
  return out;
}

}  // namespace letter::quant
