// `letter embed` as a library call: item texts -> (N, D) float32 embeddings with the chosen
// encoder (a BERT-family HF folder or TF-IDF + SVD), or embeddings imported from a .npy,
// plus a JSON description written beside them (items.emb.npy + items.emb.json).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/data/dataset.h"
#include "letter/embed/options.h"

namespace letter::embed {

/// Embeddings and their description.
struct EmbedResult {
  torch::Tensor embeddings;  ///< (N, D) float32 CPU, row i = item i
  /// encoder, model, dims, pooling, fields, counts (items, with text, missing, tokens,
  /// truncated, invalid UTF-8), seconds, device, dtype: the sidecar JSON.
  nlohmann::json info;
};

/// Embeds the items of `ds` with `opt` (encoder hf or tfidf) on `device`. `seed` seeds
/// TF-IDF's random projection. Items without text: opt.missing_text = "error" throws
/// listing them; "zero" gives them zero rows (counted in info). An empty catalog, or one
/// where no item has text, throws.
EmbedResult embed_items(const Dataset& ds, const EmbedOptions& opt, const torch::Device& device,
                        uint64_t seed);

/// Imports (N, D) embeddings from `path` for a catalog of `num_items` items: the array must
/// be 2-D, float16/32/64, have `num_items` rows and D >= 1 columns, and hold no NaN or
/// infinity (the error names the first bad row). Returned as float32.
EmbedResult import_npy(const std::string& path, int64_t num_items);

/// Writes `<dir>/items.emb.npy` and `<dir>/items.emb.json` (atomically, each).
void write_embeddings(const std::string& dir, const EmbedResult& result);

}  // namespace letter::embed
