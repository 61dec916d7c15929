// Weight-free text embeddings: hashed TF-IDF over word unigrams and bigrams, reduced to D
// dimensions by a truncated randomized SVD (latent semantic analysis). Deterministic: the
// random test matrix comes from a seeded SplitMix64 stream, the sparse products are
// computed row by row (no floating-point races), and component signs are fixed.
//
// Dimension letters: N documents, V' hashed terms kept (document frequency >= min_df),
// D output dimensions, l = D + oversample.
//
//   words   = maximal runs of letters/digits (Unicode L*, N*), lower-cased; every CJK
//             ideograph is a word of its own
//   terms   = words and adjacent word pairs, hashed (FNV-1a 64) to 2^hash_bits buckets
//   X[d, t] = (1 + ln tf) * (ln((1 + N) / (1 + df_t)) + 1), rows L2-normalised
//             (scikit-learn's TfidfVectorizer with sublinear_tf and smooth_idf)
//   X ~ U S V^T by Halko, Martinsson & Tropp (2011), algorithm 4.4: Y = X Omega, q power
//   iterations with QR re-orthonormalisation (CholeskyQR2, Householder as fallback),
//   B = Q^T X, SVD of B (from the eigenvectors of B B^T); embedding = U_D S_D
//   (= X V_D), each column's sign chosen so that its largest-magnitude entry is positive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace letter::embed {

/// TF-IDF + SVD settings.
struct TfidfOptions {
  int64_t dim = 384;         ///< D, output dimensions (<= min(N, V'))
  int64_t hash_bits = 22;    ///< terms hash to 2^hash_bits buckets (collisions are rare)
  int64_t min_df = 2;        ///< keep terms in at least this many documents (capped at N)
  int64_t oversample = 10;   ///< extra random directions (l = D + oversample)
  int64_t power_iters = 4;   ///< power iterations (sharper spectrum, better accuracy)
  bool bigrams = true;       ///< add adjacent word pairs as terms
  uint64_t seed = 0;         ///< seed of the random test matrix
};

/// What tfidf_embed did.
struct TfidfReport {
  int64_t documents = 0;
  int64_t terms_kept = 0;       ///< V'
  int64_t nonzeros = 0;         ///< stored entries of X
  int64_t empty_documents = 0;  ///< documents with no kept term (zero rows)
  double explained = 0;         ///< sum of the D squared singular values / ||X||_F^2
  std::vector<double> singular_values;  ///< the top D, descending
};

/// The words of `text` (the first bullet above); invalid UTF-8 bytes separate words.
std::vector<std::string> tfidf_words(const std::string& text);

/// (N, D) float32 CPU embeddings of `texts` (not normalised; see the header comment).
/// Throws when N == 0 or D exceeds min(N, V').
torch::Tensor tfidf_embed(const std::vector<std::string>& texts, const TfidfOptions& options,
                          TfidfReport* report = nullptr);

}  // namespace letter::embed
