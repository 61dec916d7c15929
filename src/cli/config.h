// The whole experiment's configuration, assembled by the CLI from every module's options
// (letter/<module>/options.h): one JSON file with sections data, embed, cf, tokenizer,
// recommender and eval plus seed, device and threads. Defaults live in the options structs
// (and only there); the JSON file and `--set key.path=value` overrides are applied on top,
// then everything is validated before any work starts. Unknown keys are errors that name
// the nearest valid key (common/reflect.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "letter/cf/options.h"
#include "letter/common/options.h"
#include "letter/data/options.h"
#include "letter/embed/options.h"
#include "letter/eval/options.h"
#include "letter/quant/options.h"
#include "letter/rec/options.h"

namespace letter {

/// The whole experiment.
struct Config {
  int64_t seed = 42;            ///< master seed; sub-seeds derive from it (paper 42)
  std::string device = "auto";  ///< auto | cpu | cuda | cuda:N
  int64_t threads = 0;          ///< CPU threads; 0 = all cores
  DataOptions data;
  EmbedOptions embed;
  CfOptions cf;
  TokenizerOptions tokenizer;
  RecommenderOptions recommender;
  EvalOptions eval;

  template <class V>
  void visit(V& v) {
    v.field("seed", seed, "master random seed", range(0, 9.0e18));
    v.field("device", device, "auto | cpu | cuda | cuda:N");
    v.field("threads", threads, "CPU threads (0 = all cores)", range(0, 4096));
    v.section("data", data);
    v.section("embed", embed);
    v.section("cf", cf);
    v.section("tokenizer", tokenizer);
    v.section("recommender", recommender);
    v.section("eval", eval);
  }

  /// Reads a config JSON object on top of the defaults. Unknown keys and wrong types throw
  /// UsageError naming `source` (file name) and the key.
  static Config from_json(const nlohmann::json& j, const std::string& source = "config");
  /// Reads a config file (see from_json).
  static Config load(const std::string& path);
  /// The full resolved config (every field, defaults included).
  nlohmann::json to_json() const;
  /// Applies one `key.path=value` override (see set_option).
  void set(const std::string& assignment);
  /// Applies the tokenizer and recommender presets; the keys that `assignments`
  /// ("section.key=value", the --set list) name keep their value under a preset.
  void apply_presets(const std::vector<std::string>& assignments);
  /// Field checks, then each module's cross-field checks; throws UsageError naming the key.
  void validate() const;
  /// Every field with type, default, constraint and doc (for `letter config --list`).
  static std::vector<detail::FieldDoc> describe();
};

}  // namespace letter
