// Hashed TF-IDF + truncated randomized SVD (see tfidf.h for the math and the references).
#include "letter/embed/tfidf.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <utf8proc.h>

#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/embed/wordpiece.h"

namespace letter::embed {

namespace {

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Row `bucket` of the Gaussian test matrix: l standard normals from a stream seeded by
// (seed, bucket), Box-Muller. Depends only on its arguments (not on term order or threads).
void gaussian_row(uint64_t seed, uint64_t bucket, int64_t l, double* out) {
  uint64_t state = seed ^ (bucket * 0xD1B54A32D192ED03ULL);
  splitmix64(state);
  for (int64_t j = 0; j < l; j += 2) {
    double u1 = (static_cast<double>(splitmix64(state) >> 11) + 0.5) * 0x1.0p-53;
    double u2 = (static_cast<double>(splitmix64(state) >> 11) + 0.5) * 0x1.0p-53;
    double r = std::sqrt(-2.0 * std::log(u1));
    out[j] = r * std::cos(2.0 * M_PI * u2);
    if (j + 1 < l) out[j + 1] = r * std::sin(2.0 * M_PI * u2);
  }
}

/// Compressed sparse rows, double values.
struct Csr {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> ptr;  ///< rows + 1
  std::vector<int64_t> col;
  std::vector<double> val;

  Csr transpose() const {
    Csr t;
    t.rows = cols;
    t.cols = rows;
    t.ptr.assign(cols + 1, 0);
    for (int64_t c : col) ++t.ptr[c + 1];
    for (int64_t i = 0; i < cols; ++i) t.ptr[i + 1] += t.ptr[i];
    t.col.resize(col.size());
    t.val.resize(val.size());
    std::vector<int64_t> next(t.ptr.begin(), t.ptr.end() - 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = ptr[r]; k < ptr[r + 1]; ++k) {
        int64_t dst = next[col[k]]++;
        t.col[dst] = r;
        t.val[dst] = val[k];
      }
    return t;
  }
};

/// out (rows x l) = A (rows x cols) @ W (cols x l); row-parallel, each row summed in a
/// fixed order, so the result does not depend on the thread count.
torch::Tensor spmm(const Csr& a, const torch::Tensor& w) {
  const int64_t l = w.size(1);
  auto wc = w.contiguous();
  auto out = torch::zeros({a.rows, l}, torch::kDouble);
  const double* wp = wc.data_ptr<double>();
  double* op = out.data_ptr<double>();
  at::parallel_for(0, a.rows, 64, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      double* o = op + r * l;
      for (int64_t k = a.ptr[r]; k < a.ptr[r + 1]; ++k) {
        const double v = a.val[k];
        const double* row = wp + a.col[k] * l;
        for (int64_t j = 0; j < l; ++j) o[j] += v * row[j];
      }
    }
  });
  return out;
}

// An orthonormal basis of the columns of y (m x l, double). CholeskyQR2 (Fukaya et al.
// 2014: R = chol(Y^T Y), Q = Y R^-1, twice) runs on big matrix products, several times faster
// than Householder QR here. The second pass's R is ~I when the first pass succeeded; when Y
// is (numerically) rank deficient, Cholesky fails or that check does, and Householder QR
// takes over.
torch::Tensor orthonormal(const torch::Tensor& y) {
  torch::Tensor q = y, r;
  for (int pass = 0; pass < 2; ++pass) {
    auto chol = torch::linalg_cholesky_ex(torch::matmul(q.t(), q));
    if (std::get<1>(chol).item<int64_t>() != 0) return std::get<0>(torch::linalg_qr(y));
    r = std::get<0>(chol).t();  // upper triangular, Y^T Y = R^T R
    q = torch::linalg_solve_triangular(r, q, /*upper=*/true, /*left=*/false);
  }
  const double dev = (r - torch::eye(r.size(0), r.options())).abs().max().item<double>();
  if (!std::isfinite(dev) || dev > 1e-6) return std::get<0>(torch::linalg_qr(y));
  return q;
}

}  // namespace

std::vector<std::string> tfidf_words(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) words.push_back(std::move(cur));
    cur.clear();
  };
  for (char32_t c : detail::decode_utf8(text)) {
    if (detail::is_cjk(c)) {
      flush();
      detail::append_utf8(cur, c);
      flush();
      continue;
    }
    auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    bool word = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
    if (!word || c == 0xFFFD) {
      flush();
      continue;
    }
    detail::append_utf8(cur, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
  }
  flush();
  return words;
}

torch::Tensor tfidf_embed(const std::vector<std::string>& texts, const TfidfOptions& opt,
                          TfidfReport* report) {
  const int64_t N = static_cast<int64_t>(texts.size());
  LETTER_CHECK(N > 0, "tfidf: no texts to embed");
  LETTER_CHECK(opt.dim >= 1, "tfidf: dim must be >= 1, got ", opt.dim);
  LETTER_CHECK(opt.hash_bits >= 8 && opt.hash_bits <= 62, "tfidf: hash_bits must be in [8, 62]");
  const uint64_t mask = (uint64_t{1} << opt.hash_bits) - 1;
  Timer timer;

  // Term counts per document (bucket -> tf), in parallel.
  std::vector<std::vector<std::pair<uint64_t, double>>> docs(N);
  at::parallel_for(0, N, 16, [&](int64_t b, int64_t e) {
    for (int64_t d = b; d < e; ++d) {
      auto words = tfidf_words(texts[d]);
      std::vector<uint64_t> terms;
      terms.reserve(words.size() * 2);
      for (size_t i = 0; i < words.size(); ++i) {
        uint64_t h = fnv1a(words[i]);
        terms.push_back(h & mask);
        if (opt.bigrams && i + 1 < words.size())
          terms.push_back(fnv1a(words[i + 1], fnv1a("\x01", h)) & mask);  // "w1 \x01 w2"
      }
      std::sort(terms.begin(), terms.end());
      auto& out = docs[d];
      for (size_t i = 0; i < terms.size();) {
        size_t j = i;
        while (j < terms.size() && terms[j] == terms[i]) ++j;
        out.emplace_back(terms[i], static_cast<double>(j - i));
        i = j;
      }
    }
  });
  std::unordered_map<uint64_t, int64_t> df;
  for (const auto& d : docs)
    for (const auto& [t, c] : d) ++df[t];
  const int64_t min_df = std::max<int64_t>(1, std::min(opt.min_df, N));
  std::vector<uint64_t> kept;
  for (const auto& [t, n] : df)
    if (n >= min_df) kept.push_back(t);
  std::sort(kept.begin(), kept.end());  // column order independent of hash-map order
  const int64_t V = static_cast<int64_t>(kept.size());
  LETTER_CHECK(V > 0, "tfidf: no term occurs in ", min_df,
               " or more texts; the item texts are too short or all different");
  std::unordered_map<uint64_t, int64_t> column;
  column.reserve(V * 2);
  for (int64_t i = 0; i < V; ++i) column[kept[i]] = i;
  const int64_t D = opt.dim;
  LETTER_CHECK(D <= std::min(N, V), "tfidf: embed.dim = ", D, " but the texts give only ", N,
               " documents and ", V, " terms (in >= ", min_df,
               " documents); set embed.dim <= ", std::min(N, V));
  const int64_t l = std::min<int64_t>(D + opt.oversample, std::min(N, V));

  // X: TF-IDF rows, L2-normalised.
  Csr x;
  x.rows = N;
  x.cols = V;
  x.ptr.assign(N + 1, 0);
  int64_t empty = 0;
  for (int64_t d = 0; d < N; ++d) {
    double norm = 0;
    const int64_t start = static_cast<int64_t>(x.col.size());
    for (const auto& [t, tf] : docs[d]) {
      auto it = column.find(t);
      if (it == column.end()) continue;
      double w = (1.0 + std::log(tf)) *
                 (std::log((1.0 + N) / (1.0 + static_cast<double>(df[t]))) + 1.0);
      x.col.push_back(it->second);
      x.val.push_back(w);
      norm += w * w;
    }
    if (norm > 0) {
      norm = 1.0 / std::sqrt(norm);
      for (size_t k = start; k < x.val.size(); ++k) x.val[k] *= norm;
    } else {
      ++empty;
    }
    x.ptr[d + 1] = static_cast<int64_t>(x.col.size());
  }
  docs.clear();
  Csr xt = x.transpose();
  spdlog::debug("tfidf: {} docs, {} terms, {} nonzeros; built in {:.2f}s", N, V, x.val.size(),
                timer.seconds());

  // Randomized range finder with power iterations (Halko et al. 2011, alg. 4.4).
  auto omega = torch::empty({V, l}, torch::kDouble);
  double* op = omega.data_ptr<double>();
  at::parallel_for(0, V, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gaussian_row(opt.seed, kept[i], l, op + i * l);
  });
  auto q = orthonormal(spmm(x, omega));  // (N, l)
  omega = torch::Tensor();
  spdlog::debug("tfidf: range sample {:.2f}s", timer.seconds());
  for (int64_t it = 0; it < opt.power_iters; ++it) {
    auto z = orthonormal(spmm(xt, q));  // (V, l)
    q = orthonormal(spmm(x, z));        // (N, l)
    spdlog::debug("tfidf: power iteration {} {:.2f}s", it + 1, timer.seconds());
  }
  // B = Q^T X (l x V). Its left singular vectors and values come from the small symmetric
  // eigenproblem B B^T = U S^2 U^T (l x l); only the top D, far from round-off, are used.
  auto bt = spmm(xt, q);                            // (V, l) = X^T Q = B^T
  auto eig = torch::linalg_eigh(torch::matmul(bt.t(), bt));  // ascending eigenvalues
  auto order = torch::arange(l - 1, -1, -1, torch::kLong);   // descending
  auto s = std::get<0>(eig).index_select(0, order).clamp_min(0).sqrt();  // (l)
  auto ub = std::get<1>(eig).index_select(1, order);                      // (l, l)
  spdlog::debug("tfidf: svd {:.2f}s", timer.seconds());
  auto emb = torch::matmul(q, ub.slice(1, 0, D)) * s.slice(0, 0, D);  // (N, D)
  // Sign convention: the largest-magnitude entry of each column is positive.
  auto arg = emb.abs().argmax(0);                                   // (D)
  auto sign = emb.gather(0, arg.unsqueeze(0)).sign().squeeze(0);    // (D)
  sign = torch::where(sign == 0, torch::ones_like(sign), sign);
  emb = emb * sign;

  if (report) {
    report->documents = N;
    report->terms_kept = V;
    report->nonzeros = static_cast<int64_t>(x.val.size());
    report->empty_documents = empty;
    double total = static_cast<double>(N - empty);  // squared Frobenius norm of X
    auto top = s.slice(0, 0, D).contiguous();
    report->explained = total > 0 ? (top * top).sum().item<double>() / total : 0.0;
    report->singular_values.assign(top.data_ptr<double>(), top.data_ptr<double>() + D);
  }
  if (empty > 0)
    spdlog::warn("tfidf: {} of {} texts have no term shared with another text; their vectors "
                 "are zero", empty, N);
  return emb.to(torch::kFloat).contiguous();
}

}  // namespace letter::embed
