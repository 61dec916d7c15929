// Sinkhorn-balanced assignment, algorithms.md b.3 (see sinkhorn.h).
#include "letter/quant/sinkhorn.h"

#include "letter/common/error.h"

namespace letter::quant {

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
  auto v = torch::ones({K}, q0.options());
  torch::Tensor u;
  for (int64_t it = 0; it < iters; ++it) {
    // Row step: sum_j u_i q0_ij v_j = 1/B.  Column step: sum_i u_i q0_ij v_j = 1/K.
    u = torch::mv(q0, v).mul_(static_cast<double>(B)).reciprocal_();
    v = torch::mv(q0.t(), u).mul_(static_cast<double>(K)).reciprocal_();
  }
  auto scores = q0 * v.unsqueeze(0);  // argmax_k Q[i,k] = argmax_k q0[i,k] v[k] (u_i > 0)
  LETTER_CHECK(torch::isfinite(u).all().item<bool>() && torch::isfinite(v).all().item<bool>(),
               "sinkhorn: non-finite transport plan (epsilon ", eps,
               " too small for float64: exp(1/eps) overflows; use eps >= 0.0015)");
  if (q) *q = scores.mul(u.unsqueeze(1)).mul_(static_cast<double>(B));
  return scores.argmax(1);
}

}  // namespace letter::quant
