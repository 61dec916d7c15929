// Code statistics and the tokenizer report: per-level usage, entropy, perplexity and largest
// bucket; collision rate; LETTER's Table 4 metric (code overlap with the nearest item in CF
// space, algorithms.md g); the level-1 code frequency plot (like LETTER's Figure 6) as SVG;
// and the printed table.
//
// Shapes: codes (N, L) int64, cf (N, d) float.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace letter::quant {

/// Per-level statistics of codes (N, L): for each level
/// {"level", "used", "size" (K, or max code + 1 when K <= 0), "entropy_bits", "perplexity",
///  "largest_bucket", "usage" (= used / size)}. `level_size` applies to every level.
nlohmann::json level_stats(const torch::Tensor& codes, int64_t level_size);

/// LETTER Table 4: for each item its nearest other item by cosine similarity of the CF
/// vectors; the mean over items of the fraction of code positions (first `levels` columns)
/// on which the two agree. Blocked N x N similarity (no N^2 memory).
double cf_neighbor_overlap(const torch::Tensor& codes, const torch::Tensor& cf, int64_t levels);

/// Bar chart (SVG text) of the per-code item counts of one level, sorted by popularity,
/// with axes, ticks, axis labels and a title.
std::string code_frequency_svg(const torch::Tensor& level_codes, int64_t level_size,
                               const std::string& title);

/// Report of a code table alone (data import-codes): level stats, collisions, optional
/// Table 4 with `cf` (undefined = skipped) over the first `table4_levels` columns (0 = all).
nlohmann::json codes_report(const torch::Tensor& codes, const torch::Tensor& cf, const std::string& source,
                            int64_t table4_levels = 0);

/// Prints the report table of a stats JSON (as written to stats.json by train-tokenizer
/// and data import-codes).
void print_report(std::ostream& os, const nlohmann::json& stats);

}  // namespace letter::quant
