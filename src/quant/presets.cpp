#include "letter/quant/presets.h"

#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/common/reflect.h"

namespace letter::quant {

std::vector<std::string> apply_preset(TokenizerOptions& t, const std::vector<std::string>& keep) {
  nlohmann::json values;
  if (t.preset == TokenizerPreset::kPaper) {
    // b.7: AdamW lr 1e-3 constant, 10,000 epochs (released codes), eval every 2000.
    values = {{"epochs", 10000}, {"lr", 1e-3}, {"warmup_epochs", 0}, {"schedule", "constant"}, {"eval_every", 2000}};
  } else if (t.preset == TokenizerPreset::kQuick) {
    // 10% of the paper's epochs with a 20-epoch warm-up to a 6x higher lr and cosine decay.
    // Measured on Beauty MiniLM embeddings against the paper schedule's final (10,000-epoch)
    // numbers (docs/results.md, three seeds): reconstruction 0.001284-0.001287 vs 0.001290,
    // collision rate 0.00157-0.00215 (mean 21.3 items) vs 0.00182 (22 items), first-level
    // usage 102-119 (mean 108) vs 104. Searched: lr 1e-3, 2e-3, 4e-3 (800 epochs), 6e-3 and
    // 8e-3. TIGER (no Sinkhorn, no diversity loss) collapses its lower levels at lr 6e-3 on
    // Beauty (used 221/25/9/5 codes, 15% collisions); it keeps the previous quick schedule,
    // 800 epochs at lr 4e-3 (all 256 codes used at every level on Beauty and Instruments).
    const bool tiger = t.method == TokenizerMethod::kTiger;
    values = {{"epochs", tiger ? 800 : 1000}, {"lr", tiger ? 4e-3 : 6e-3}, {"warmup_epochs", 20},
              {"schedule", "cosine"}, {"eval_every", 100}};
  } else {
    return {};
  }
  auto changed = apply_preset_values(t, values, keep, "tokenizer preset " + enum_name(t.preset));
  std::string names;
  for (const auto& c : changed) names += (names.empty() ? "" : ",") + c;
  spdlog::info("preset {} (set: {}): epochs={} lr={} warmup_epochs={} schedule={} eval_every={}",
               enum_name(t.preset), names.empty() ? "nothing" : names, t.epochs, t.lr, t.warmup_epochs,
               enum_name(t.schedule), t.eval_every);
  return changed;
}

TokenizerOptions effective_options(const TokenizerOptions& t) {
  TokenizerOptions e = t;
  if (e.method == TokenizerMethod::kTiger) {
    e.alpha = 0;
    e.beta = 0;
    e.sk_epsilons.assign(e.levels, 0.0);
  }
  return e;
}

}  // namespace letter::quant
