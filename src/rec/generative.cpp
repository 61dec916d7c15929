#include "letter/rec/generative.h"

#include "letter/common/error.h"

namespace letter::rec {

torch::Tensor grouped_attention(const torch::Tensor& q, const torch::Tensor& shared_k, const torch::Tensor& shared_v,
                                const torch::Tensor& shared_bias, const torch::Tensor& own_k,
                                const torch::Tensor& own_v, const torch::Tensor& own_bias) {
  const int64_t N = q.size(0), H = q.size(1), dk = q.size(3), B = shared_k.size(0), S = shared_k.size(2);
  LETTER_CHECK(q.size(2) == 1 && B > 0 && N % B == 0, "grouped_attention: q must be (B*W, H, 1, dk), got ",
               q.sizes(), " for ", B, " users");
  const int64_t W = N / B;
  auto qg = q.view({B, W, H, dk}).permute({0, 2, 1, 3});          // (B, H, W, dk)
  auto scores = torch::matmul(qg, shared_k.transpose(-1, -2));    // (B, H, W, S)
  if (shared_bias.defined()) scores = scores + shared_bias;
  int64_t t = 0;
  if (own_k.defined()) {
    t = own_k.size(2);
    auto own = torch::matmul(q, own_k.transpose(-1, -2));        // (N, H, 1, t)
    if (own_bias.defined()) own = own + own_bias;
    scores = torch::cat({scores.to(torch::kFloat32),
                         own.to(torch::kFloat32).view({B, W, H, t}).permute({0, 2, 1, 3})}, -1);
  }
  auto w = torch::softmax(scores.to(torch::kFloat32), -1);       // (B, H, W, S + t)
  auto out = torch::matmul(w.narrow(-1, 0, S).to(shared_v.scalar_type()), shared_v);  // (B, H, W, dk)
  out = out.permute({0, 2, 1, 3}).reshape({N, H, 1, dk});
  if (t > 0) {
    auto wo = w.narrow(-1, S, t).permute({0, 2, 1, 3}).reshape({N, H, 1, t}).to(own_v.scalar_type());
    out = out + torch::matmul(wo, own_v);
  }
  return out;
}

}  // namespace letter::rec
