#include "letter/quant/inputs.h"

#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/io/npy.h"

namespace letter::quant {

namespace {

// First row holding NaN/Inf, or -1.
int64_t first_bad_row(const torch::Tensor& x) {
  auto bad = (~torch::isfinite(x)).any(1);
  if (!bad.any().item<bool>()) return -1;
  return bad.nonzero()[0][0].item<int64_t>();
}

}  // namespace

TokenizerInputs load_inputs(const TokenizerOptions& e, const std::string& run_dir) {
  TokenizerInputs in;
  in.embeddings_path = !e.embeddings.empty() ? e.embeddings : join(run_dir, "items.emb.npy");
  LETTER_CHECK(path_exists(in.embeddings_path), "embeddings not found: ", in.embeddings_path,
               " (run 'letter embed --out RUN_DIR' first, or set tokenizer.embeddings)");
  in.embeddings = io::read_npy(in.embeddings_path);
  const bool need_cf = e.method != TokenizerMethod::kRkmeans && e.alpha > 0;
  in.cf_path = !e.cf.empty() ? e.cf : join(run_dir, "items.cf.npy");
  if (path_exists(in.cf_path)) {
    in.cf = io::read_npy(in.cf_path);
  } else {
    LETTER_CHECK(!need_cf, "CF vectors not found: ", in.cf_path, " (method ", enum_name(e.method),
                 " with alpha = ", e.alpha,
                 " needs them: run 'letter train-cf', set tokenizer.cf, or use alpha = 0)");
    if (!e.cf.empty()) LETTER_FAIL("CF vectors not found: ", in.cf_path);
    in.cf_path.clear();
  }
  in.embeddings = in.embeddings.to(torch::kFloat32).contiguous();
  if (in.cf.defined()) in.cf = in.cf.to(torch::kFloat32).contiguous();
  return in;
}

void check_inputs(const TokenizerOptions& e, const TokenizerInputs& in) {
  const std::string& ep = in.embeddings_path.empty() ? std::string("embeddings") : in.embeddings_path;
  const std::string& cp = in.cf_path.empty() ? std::string("CF vectors") : in.cf_path;
  LETTER_CHECK(in.embeddings.defined() && in.embeddings.dim() == 2, ep,
               ": embeddings must be an (N, D) matrix, got shape ",
               in.embeddings.defined() ? in.embeddings.sizes() : torch::IntArrayRef{});
  LETTER_CHECK(in.embeddings.is_floating_point(), ep, ": embeddings must be floating point, got ",
               in.embeddings.scalar_type());
  const int64_t n = in.embeddings.size(0);
  LETTER_CHECK(n >= 1 && in.embeddings.size(1) >= 1, ep, ": no items (shape ", in.embeddings.sizes(), ")");
  int64_t bad = first_bad_row(in.embeddings);
  LETTER_CHECK(bad < 0, ep, ": row ", bad, " contains NaN or Inf; fix the embeddings (re-run embed)");
  const bool need_cf = e.method != TokenizerMethod::kRkmeans && e.alpha > 0;
  LETTER_CHECK(!need_cf || in.cf.defined(), "method ", enum_name(e.method), " with alpha = ", e.alpha,
               " needs CF vectors (tokenizer.cf)");
  if (in.cf.defined()) {
    LETTER_CHECK(in.cf.dim() == 2 && in.cf.is_floating_point(), cp,
                 ": CF vectors must be a floating (N, d) matrix, got ", in.cf.sizes(), " ",
                 in.cf.scalar_type());
    LETTER_CHECK(in.cf.size(0) == n, cp, " has ", in.cf.size(0), " rows but ", ep, " has ", n,
                 ": both must have one row per item, in item-id order");
    bad = first_bad_row(in.cf);
    LETTER_CHECK(bad < 0, cp, ": row ", bad, " contains NaN or Inf");
    if (need_cf)
      LETTER_CHECK(in.cf.size(1) == e.e_dim, cp, " are ", in.cf.size(1),
                   "-dimensional but tokenizer.e_dim = ", e.e_dim,
                   ": the collaborative loss compares the quantized latent with the CF vectors; set "
                   "tokenizer.e_dim=",
                   in.cf.size(1), " or tokenizer.alpha=0");
  }
  LETTER_CHECK(static_cast<int64_t>(e.sk_epsilons.size()) == e.levels, "tokenizer.sk_epsilons has ",
               e.sk_epsilons.size(), " entries for ", e.levels, " levels");
  if (e.method == TokenizerMethod::kRkmeans || e.kmeans_init)
    LETTER_CHECK(e.codebook_size <= n, "tokenizer.codebook_size = ", e.codebook_size, " exceeds the ",
                 n, " items of ", ep, ": k-means cannot initialise more codes than items");
}

}  // namespace letter::quant
