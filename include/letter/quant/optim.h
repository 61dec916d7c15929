// FusedAdamW: torch::optim::AdamW whose step makes one pass over each CPU float32
// parameter (read p, g, m, v; write p, m, v) instead of LibTorch's ~9 tensor ops
// (mul_, add_, mul_, addcmul_, sqrt, div, add_, addcdiv_, weight-decay mul_). The update is
// AdamW's (Loshchilov & Hutter; decoupled weight decay p *= 1 - lr wd, bias-corrected
// moments, denom = sqrt(v) / sqrt(1 - b2^t) + eps), evaluated per element in the same order.
// The state lives in AdamW's own AdamWParamState objects, so save/load and checkpoints are
// unchanged. Tensors that are not CPU float32 contiguous, and amsgrad, use AdamW::step.
//
// Why: the paper-size RQ-VAE (22M parameters) is compute-bound in its matmuls; the
// optimizer's memory traffic is the largest remaining cost (issue #5 speed target).
#pragma once

#include <torch/torch.h>

namespace letter::quant {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace letter::quant
