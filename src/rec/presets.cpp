#include "letter/rec/presets.h"

#include <spdlog/spdlog.h>

#include "letter/common/reflect.h"

namespace letter::rec {

std::vector<std::string> apply_preset(RecommenderOptions& o, const std::vector<std::string>& keep) {
  nlohmann::json values;
  switch (o.preset) {
    case RecPreset::kNone:
      return {};
    case RecPreset::kQuick:
      values = {{"arch", "decoder"}, {"lr", 2e-3},     {"warmup_ratio", 0.02}, {"epochs", 25},
                {"batch_size", 256}, {"dropout", 0.1}, {"patience", 6},        {"valid_users", 2000}};
      break;
    case RecPreset::kPaper:
      values = {{"arch", "t5"},       {"lr", 5e-4},     {"warmup_ratio", 0.01}, {"epochs", 200},
                {"batch_size", 1024}, {"dropout", 0.1}, {"patience", 20},       {"valid_users", 0}};
      break;
  }
  auto changed = apply_preset_values(o, values, keep, "recommender preset " + enum_name(o.preset));
  std::string names;
  for (const auto& c : changed) names += (names.empty() ? "" : ",") + c;
  spdlog::info("recommender preset {} (set: {}): arch={} lr={} warmup_ratio={} epochs={} batch_size={} dropout={}",
               enum_name(o.preset), names.empty() ? "nothing" : names, enum_name(o.arch), o.lr, o.warmup_ratio,
               o.epochs, o.batch_size, o.dropout);
  return changed;
}

}  // namespace letter::rec
