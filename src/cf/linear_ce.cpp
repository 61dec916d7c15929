#include "letter/cf/linear_ce.h"

#include <algorithm>

#include "letter/common/error.h"

namespace letter {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct LinearCrossEntropyFn : public torch::autograd::Function<LinearCrossEntropyFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& E,
                               const torch::Tensor& targets, int64_t chunk) {
    const int64_t P = h.size(0), N = E.size(0);
    const bool need_h = h.requires_grad(), need_e = E.requires_grad();
    auto hd = h.detach().contiguous();
    auto ed = E.detach().contiguous();
    auto et = ed.t();  // (d, N) view
    torch::Tensor grad_h = need_h ? torch::empty_like(hd) : torch::Tensor();
    torch::Tensor grad_e = need_e ? torch::zeros_like(ed) : torch::Tensor();
    auto loss = torch::zeros({}, hd.options().dtype(torch::kFloat64));
    const double scale = 1.0 / static_cast<double>(P);
    auto logits = torch::empty({std::min(chunk, P), N}, hd.options());
    for (int64_t start = 0; start < P; start += chunk) {
      const int64_t c = std::min(chunk, P - start);
      auto hc = hd.narrow(0, start, c);                      // (c, d)
      auto tc = targets.narrow(0, start, c).unsqueeze(1);     // (c, 1)
      auto z = logits.narrow(0, 0, c);                       // (c, N)
      torch::mm_out(z, hc, et);
      auto lse = z.logsumexp(1, /*keepdim=*/true);           // (c, 1)
      loss += (lse - z.gather(1, tc)).sum().to(torch::kFloat64);
      // z <- (softmax(z) - onehot(target)) / P
      z.sub_(lse).exp_();
      z.scatter_add_(1, tc, torch::full({c, 1}, -1.0, z.options()));
      z.mul_(scale);
      if (need_h) {
        auto gh = grad_h.narrow(0, start, c);
        torch::mm_out(gh, z, ed);                            // (c, d)
      }
      if (need_e) grad_e.addmm_(z.t(), hc);                  // (N, d)
    }
    ctx->saved_data["grad_h"] = grad_h;
    ctx->saved_data["grad_e"] = grad_e;
    return (loss * scale).to(hd.scalar_type());
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_out) {
    auto g = grad_out[0];
    auto grad_h = ctx->saved_data["grad_h"].toTensor();
    auto grad_e = ctx->saved_data["grad_e"].toTensor();
    return {grad_h.defined() ? grad_h * g : torch::Tensor(),
            grad_e.defined() ? grad_e * g : torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor linear_cross_entropy(const torch::Tensor& h, const torch::Tensor& E,
                                   const torch::Tensor& targets, int64_t chunk) {
  LETTER_CHECK(h.dim() == 2 && E.dim() == 2 && h.size(1) == E.size(1),
               "linear_cross_entropy: h (P, d) and E (N, d) must share d, got ", h.sizes(), " and ",
               E.sizes());
  LETTER_CHECK(targets.dim() == 1 && targets.size(0) == h.size(0) &&
                   targets.scalar_type() == torch::kInt64,
               "linear_cross_entropy: targets must be (P,) int64 with P = ", h.size(0), ", got ",
               targets.sizes(), " ", targets.scalar_type());
  LETTER_CHECK(h.size(0) > 0 && E.size(0) > 0, "linear_cross_entropy: empty input");
  LETTER_CHECK(h.scalar_type() == E.scalar_type() && h.device() == E.device(),
               "linear_cross_entropy: h and E must share dtype and device");
  if (chunk <= 0) chunk = std::max<int64_t>(8, (int64_t{1} << 19) / E.size(0));
  return LinearCrossEntropyFn::apply(h, E, targets, chunk);
}

}  // namespace letter
