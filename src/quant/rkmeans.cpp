#include "letter/quant/rkmeans.h"

#include <spdlog/spdlog.h>

#include "letter/common/runtime.h"

namespace letter::quant {

std::pair<int64_t, int64_t> init_size_bounds(int64_t n, int64_t k) {
  const int64_t smin = std::min<int64_t>(n / (2 * k), 50);
  const int64_t smax = std::max<int64_t>(4 * smin, (n + k - 1) / k);
  return {smin, smax};
}

KMeansOptions tokenizer_kmeans_options(const TokenizerOptions& t, int64_t k, int64_t smin, int64_t smax, uint64_t seed) {
  KMeansOptions ko;
  ko.k = k;
  ko.max_iter = t.kmeans_iters;
  ko.n_init = t.kmeans_restarts;
  ko.size_min = smin;
  ko.size_max = smax;
  ko.seed = seed;
  return ko;
}

ResidualKMeans fit_residual_levels(const TokenizerOptions& t, torch::Tensor r, uint64_t seed,
                                   const std::string& stream, bool verbose) {
  torch::NoGradGuard no_grad;
  r = r.to(torch::kCPU, torch::kFloat32).contiguous();
  auto [smin, smax] = init_size_bounds(r.size(0), t.codebook_size);
  ResidualKMeans out;
  std::vector<torch::Tensor> codes;
  for (int64_t l = 0; l < t.levels; ++l) {
    if (l + 1 == t.levels) out.residual_last = r.clone();
    auto ko = tokenizer_kmeans_options(t, t.codebook_size, smin, smax, derive_seed(seed, stream + "." + std::to_string(l)));
    Timer lt;
    auto km = kmeans(r, ko);
    auto c = squared_distances(r, km.centers).argmin(1);
    r = r - km.centers.index_select(0, c);
    out.codebooks.push_back(km.centers);
    codes.push_back(c);
    spdlog::log(verbose ? spdlog::level::info : spdlog::level::debug,
                "{} level {}: inertia {:.6g}, cluster sizes {}..{}, {:.1f} s", stream, l, km.inertia,
                smin, smax, lt.seconds());
  }
  out.codes = torch::stack(codes, 1);
  out.recon_mse = r.pow(2).mean().item<double>();
  return out;
}

ResidualKMeans residual_kmeans(const TokenizerOptions& t, const torch::Tensor& x, uint64_t seed) {
  return fit_residual_levels(t, x, seed, "tokenizer.rkmeans", /*verbose=*/true);
}

}  // namespace letter::quant
