#include "letter/rec/loss.h"

#include <limits>

#include "letter/common/error.h"

namespace letter::rec {

torch::Tensor ranking_loss(const torch::Tensor& logits, const torch::Tensor& labels, double tau,
                           const torch::Tensor& allowed) {
  LETTER_CHECK(logits.dim() == 3, "ranking_loss: logits must be (B, T, V), got ", logits.sizes());
  LETTER_CHECK(labels.dim() == 2 && labels.size(0) == logits.size(0) && labels.size(1) == logits.size(1),
               "ranking_loss: labels must be (B, T) = ", logits.sizes().slice(0, 2), ", got ", labels.sizes());
  LETTER_CHECK(tau > 0, "ranking_loss: tau must be > 0, got ", tau);
  auto z = logits / tau;
  if (allowed.defined()) {
    LETTER_CHECK(allowed.dim() == 2 && allowed.size(0) == logits.size(1) && allowed.size(1) == logits.size(2),
                 "ranking_loss: allowed must be (T, V), got ", allowed.sizes());
    z = z.masked_fill(allowed.logical_not().unsqueeze(0), -std::numeric_limits<double>::infinity());
  }
  const int64_t V = logits.size(2);
  auto lp = torch::log_softmax(z, -1).reshape({-1, V});
  return torch::nll_loss(lp, labels.reshape({-1}), /*weight=*/{}, at::Reduction::Mean, kIgnoreLabel);
}

torch::Tensor softmax_mask(const CodeVocab& vocab, SoftmaxMode mode, const torch::Device& device) {
  if (mode == SoftmaxMode::kAll) return {};
  const int64_t L = vocab.levels(), V = vocab.size();
  auto m = torch::zeros({L + 1, V}, torch::kBool);
  for (int64_t l = 0; l < L; ++l) m[l].narrow(0, vocab.level_begin(l), vocab.level_size(l)).fill_(true);
  m[L][CodeVocab::kEos] = true;
  return m.to(device);
}

}  // namespace letter::rec
