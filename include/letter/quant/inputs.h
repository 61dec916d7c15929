// The tokenizer's inputs: the semantic embeddings (N, D_in) and, for LETTER's
// collaborative loss and the Table 4 metric, the CF vectors (N, d); read from .npy files
// and checked once, at the stage's entry (run_tokenizer).
#pragma once

#include <string>

#include <torch/torch.h>

#include "letter/quant/options.h"

namespace letter::quant {

/// Tokenizer inputs.
struct TokenizerInputs {
  torch::Tensor embeddings;     ///< (N, D_in) float32
  torch::Tensor cf;             ///< (N, d) float32, or undefined
  std::string embeddings_path;  ///< for messages and the report
  std::string cf_path;
};

/// Reads the .npy inputs named by `e` (the effective options; empty paths fall back to
/// <run_dir>/items.emb.npy and <run_dir>/items.cf.npy) as float32. The CF file is required
/// when the method uses alpha > 0 and otherwise read when present (for the Table 4
/// metric). Missing files throw; the contents are checked by check_inputs.
TokenizerInputs load_inputs(const TokenizerOptions& e, const std::string& run_dir);

/// Throws letter::Error naming the file for: wrong rank, no rows, NaN/Inf, CF row count
/// different from the embeddings', CF width != e_dim while alpha > 0, K > N.
void check_inputs(const TokenizerOptions& effective, const TokenizerInputs& in);

}  // namespace letter::quant
