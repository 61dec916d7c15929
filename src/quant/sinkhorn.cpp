// Sinkhorn-balanced assignment, algorithms.md b.3 (see sinkhorn.h).
#include "letter/quant/sinkhorn.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "letter/common/error.h"

namespace letter::quant {

namespace {

// Fixed row blocks of the CPU sweep: each block owns a partial column sum, added in block
// order, so the result does not depend on the thread count.
constexpr int64_t kSweepBlocks = 8;

// Rows [r0, r1) of one fused Sinkhorn iteration over Q0 (B, K) row-major: u_i = 1 / (B
// q0_i . v) and w += u_i q0_i, i.e. the row step and the column product q0^T u in one pass
// over the matrix (each row is read once, while it is in L1) instead of two matrix-vector
// products that each stream the whole 2 MB plan. Cloned for AVX-512, AVX2 and the baseline,
// the best one chosen at load time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void sweep_rows(
    const double* q0, int64_t r0, int64_t r1, int64_t k, const double* v, double rows, double* u, double* w) {
  constexpr int kLanes = 8;
  for (int64_t i = r0; i < r1; ++i) {
    const double* row = q0 + i * k;
    double acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + kLanes <= k; j += kLanes)
      for (int l = 0; l < kLanes; ++l) acc[l] += row[j + l] * v[j + l];
    double dot = 0;
    for (; j < k; ++j) dot += row[j] * v[j];
    for (int l = 0; l < kLanes; ++l) dot += acc[l];
    const double ui = 1.0 / (rows * dot);
    u[i] = ui;
    for (int64_t c = 0; c < k; ++c) w[c] += ui * row[c];
  }
}

// `iters` scaling iterations on a contiguous CPU float64 Q0 (B, K); returns u (B), v (K).
std::pair<torch::Tensor, torch::Tensor> scale_cpu(const torch::Tensor& q0, int64_t iters) {
  const int64_t B = q0.size(0), K = q0.size(1);
  auto u = torch::empty({B}, q0.options()), v = torch::ones({K}, q0.options());
  const double* q = q0.data_ptr<double>();
  double* up = u.data_ptr<double>();
  double* vp = v.data_ptr<double>();
  const int64_t blocks = std::min<int64_t>(kSweepBlocks, B), per = (B + blocks - 1) / blocks;
  std::vector<double> partial(blocks * K);
  for (int64_t it = 0; it < iters; ++it) {
    std::fill(partial.begin(), partial.end(), 0.0);
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        sweep_rows(q, b * per, std::min(B, (b + 1) * per), K, vp, static_cast<double>(B), up,
                   partial.data() + b * K);
    });
    for (int64_t c = 0; c < K; ++c) {
      double col = 0;
      for (int64_t b = 0; b < blocks; ++b) col += partial[b * K + c];
      vp[c] = 1.0 / (static_cast<double>(K) * col);
    }
  }
  return {u, v};
}

}  // namespace

torch::Tensor sinkhorn_codes(const torch::Tensor& d, double eps, int64_t iters, torch::Tensor* q) {
  LETTER_CHECK(d.defined() && d.dim() == 2 && d.size(0) > 0 && d.size(1) > 0,
               "sinkhorn: distances must be a non-empty (B, K) matrix");
  LETTER_CHECK(eps > 0, "sinkhorn: epsilon must be > 0, got ", eps);
  LETTER_CHECK(iters >= 1, "sinkhorn: iterations must be >= 1, got ", iters);
  torch::NoGradGuard no_grad;
  const int64_t B = d.size(0), K = d.size(1);
  auto dd = d.detach().to(torch::kFloat64);
  // Centre to [-1, 1] with the global max/min of the batch (b.3).
  const double mx = dd.max().item<double>(), mn = dd.min().item<double>();
  const double mid = (mx + mn) / 2.0, amp = mx - mid + 1e-5;
  auto q0 = torch::exp(dd.sub(mid).div_(amp).div_(-eps));
  q0.div_(q0.sum());
  torch::Tensor u, v;
  if (q0.is_cpu()) {
    std::tie(u, v) = scale_cpu(q0.contiguous(), iters);
  } else {
    v = torch::ones({K}, q0.options());
    for (int64_t it = 0; it < iters; ++it) {
      // Row step: sum_j u_i q0_ij v_j = 1/B.  Column step: sum_i u_i q0_ij v_j = 1/K.
      u = torch::mv(q0, v).mul_(static_cast<double>(B)).reciprocal_();
      v = torch::mv(q0.t(), u).mul_(static_cast<double>(K)).reciprocal_();
    }
  }
  auto scores = q0 * v.unsqueeze(0);  // argmax_k Q[i,k] = argmax_k q0[i,k] v[k] (u_i > 0)
  LETTER_CHECK(torch::isfinite(u).all().item<bool>() && torch::isfinite(v).all().item<bool>(),
               "sinkhorn: non-finite transport plan (epsilon ", eps,
               " too small for float64: exp(1/eps) overflows; use eps >= 0.0015)");
  if (q) *q = scores.mul(u.unsqueeze(1)).mul_(static_cast<double>(B));
  return scores.argmax(1);
}

}  // namespace letter::quant
