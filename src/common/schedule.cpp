#include "letter/common/schedule.h"

#include "letter/common/error.h"

namespace letter {

void set_learning_rate(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) {
    auto& o = group.options();
    if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&o)) {
      adamw->lr(lr);
    } else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&o)) {
      adam->lr(lr);
    } else if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&o)) {
      sgd->lr(lr);
    } else if (auto* adagrad = dynamic_cast<torch::optim::AdagradOptions*>(&o)) {
      adagrad->lr(lr);
    } else {
      LETTER_FAIL("set_learning_rate: unsupported optimizer");
    }
  }
}

}  // namespace letter
