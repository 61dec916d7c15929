// Learning-rate schedules shared by the trainers: linear warm-up, then constant or cosine
// decay to zero (HF's get_cosine_schedule_with_warmup shape).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "letter/common/options.h"

namespace letter {

/// Learning-rate shape after the warm-up (tokenizer.schedule; the recommender is cosine).
enum class LrSchedule { kConstant, kCosine };
LETTER_ENUM(LrSchedule, {LrSchedule::kConstant, "constant"}, {LrSchedule::kCosine, "cosine"})

/// Multiplier of the base learning rate at `step` (0-based) of `total` steps:
/// step < warmup: (step + 1) / warmup; then 1 (constant) or 0.5 (1 + cos(pi p)) with
/// p = (step - warmup) / max(1, total - warmup) (cosine).
inline double lr_factor(int64_t step, int64_t total, int64_t warmup, LrSchedule schedule) {
  if (warmup > 0 && step < warmup) return static_cast<double>(step + 1) / warmup;
  if (schedule != LrSchedule::kCosine) return 1.0;
  double p = static_cast<double>(step - warmup) / std::max<int64_t>(1, total - warmup);
  p = std::min(1.0, std::max(0.0, p));
  return 0.5 * (1.0 + std::cos(M_PI * p));
}

/// Sets every parameter group's learning rate to base_lr * factor (AdamW / Adam).
void set_learning_rate(torch::optim::Optimizer& opt, double lr);

}  // namespace letter
