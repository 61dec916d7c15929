// FusedAdamW (see optim.h): one parallel pass per parameter.
#include "letter/quant/optim.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "letter/common/torch_compat.h"

namespace letter::quant {

torch::Tensor FusedAdamW::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = {};
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  // Anything the fused loop does not handle goes through LibTorch's own step, which then
  // updates every parameter; so decide for the whole optimizer first.
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    if (o.amsgrad()) return torch::optim::AdamW::step(nullptr);
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (!p.device().is_cpu() || p.scalar_type() != torch::kFloat32 || !p.is_contiguous() ||
          !p.grad().is_contiguous() || p.grad().is_sparse())
        return torch::optim::AdamW::step(nullptr);
    }
  }
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const double lr = o.lr(), eps = o.eps(), wd = o.weight_decay();
    const double b1 = std::get<0>(o.betas()), b2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto key = compat::optimizer_state_key(*this, p);
      auto it = state_.find(key);
      if (it == state_.end()) {
        auto st = std::make_unique<torch::optim::AdamWParamState>();
        st->step(0);
        st->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        st->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state_.emplace(key, std::move(st)).first;
      }
      auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
      st.step(st.step() + 1);
      const double bc1 = 1.0 - std::pow(b1, static_cast<double>(st.step()));
      const double bc2 = 1.0 - std::pow(b2, static_cast<double>(st.step()));
      const float decay = static_cast<float>(1.0 - lr * wd);
      const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
      const float omb1 = static_cast<float>(1.0 - b1), omb2 = static_cast<float>(1.0 - b2);
      const float step_size = static_cast<float>(lr / bc1);
      const float sqrt_bc2 = static_cast<float>(std::sqrt(bc2));
      const float feps = static_cast<float>(eps);
      float* pp = p.data_ptr<float>();
      const float* gp = p.grad().data_ptr<float>();
      float* mp = st.exp_avg().data_ptr<float>();
      float* vp = st.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const float g = gp[i];
          const float m = fb1 * mp[i] + omb1 * g;
          const float v = fb2 * vp[i] + omb2 * g * g;
          mp[i] = m;
          vp[i] = v;
          pp[i] = pp[i] * decay - step_size * m / (std::sqrt(v) / sqrt_bc2 + feps);
        }
      });
    }
  }
  return loss;
}

}  // namespace letter::quant
