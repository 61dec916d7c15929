// Tokenizer schedule presets and the settings a method actually trains with: the one place
// where `tokenizer.preset` and `tokenizer.method` change other tokenizer options.
//
// Precedence: struct defaults < config file < preset < --set < flags. The CLI passes the
// tokenizer keys the user set explicitly (`keep`), so a preset replaces only the config
// file's schedule values.
#pragma once

#include <string>
#include <vector>

#include "letter/quant/options.h"

namespace letter::quant {

/// Applies t.preset to `t` (none: nothing): sets epochs, lr, warmup_epochs, schedule and
/// eval_every (quick depends on t.method: tiger trains at a lower lr), except the fields
/// named in `keep` ("lr", ...), which keep their value. Returns the names of the fields it
/// changed, and logs them.
std::vector<std::string> apply_preset(TokenizerOptions& t, const std::vector<std::string>& keep = {});

/// The settings a method actually trains with: tiger forces alpha = beta = 0 and all
/// Sinkhorn epsilons to 0; letter and rkmeans keep `t`.
TokenizerOptions effective_options(const TokenizerOptions& t);

}  // namespace letter::quant
