// `letter train-tokenizer` as a library call: the whole stage for one method (letter,
// tiger: the RQ-VAE trainer; rkmeans: residual k-means), with checkpoints and --resume,
// collision-free codes (algorithms.md b.8) and the report. The pieces live beside it:
// presets.h (schedule presets, the method's effective options), inputs.h (reading and
// checking the inputs), trainer.h (the RQ-VAE trainer), rkmeans.h (residual k-means),
// codes.h (collision resolution) and report.h (statistics and the printed report).
//
// Shapes: N items, L levels, K codes per level.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/common/runtime.h"
#include "letter/quant/codes.h"
#include "letter/quant/inputs.h"
#include "letter/quant/options.h"
#include "letter/quant/presets.h"
#include "letter/quant/rkmeans.h"
#include "letter/quant/trainer.h"

namespace letter::quant {

/// Checkpoint format tag and version of tokenizer checkpoints.
inline constexpr const char* kTokenizerFormat = "letter.tokenizer";
inline constexpr int64_t kTokenizerVersion = 1;

/// Where and how a run writes: the run context plus the catalogue's item ids.
struct TokenizerRunEnv : RunEnv {
  std::vector<std::string> item_ids;  ///< raw item ids for codes.json ("" = 0..N-1)
  std::string title;                  ///< name used in the plot title (dataset)
};

/// Result of a run.
struct TokenizerRunResult {
  torch::Tensor argmin_codes;  ///< (N, L)
  torch::Tensor codes;         ///< (N, L) or (N, L+1), unique rows
  ResolveReport resolve;
  nlohmann::json stats;        ///< the report (also written as stats.json)
};

/// The whole stage: checks the inputs, trains (or clusters), evaluates, resolves
/// collisions, writes codes.json, codes.npy, tokenizer.pt (+ tokenizer.best.pt,
/// tokenizer.resume.pt while training), stats.json and code_freq.svg into env.out. `t` is
/// the resolved config section (presets applied); the method's effective options are
/// derived here, once.
TokenizerRunResult run_tokenizer(const TokenizerOptions& t, const TokenizerInputs& in, const TokenizerRunEnv& env);

}  // namespace letter::quant
