// LETTER regularisers (algorithms.md b.5, b.6), vectorised: the official code loops over
// samples in Python and re-draws positives until they differ from the code; here one
// (K, K) Gram matrix per level and an index arithmetic draw replace both loops.
#include "letter/quant/losses.h"

#include "letter/common/error.h"

namespace letter::quant {

torch::Tensor collaborative_loss(const torch::Tensor& zq, const torch::Tensor& cf) {
  LETTER_CHECK(zq.dim() == 2 && cf.dim() == 2 && zq.size(0) == cf.size(0) && zq.size(1) == cf.size(1),
               "collaborative loss: zq ", zq.sizes(), " and CF vectors ", cf.sizes(),
               " must both be (B, D) with the same shape");
  auto logits = torch::mm(zq, cf.detach().to(zq.scalar_type()).t());  // (B, B)
  auto target = torch::arange(zq.size(0), torch::TensorOptions().dtype(torch::kInt64).device(zq.device()));
  return torch::nn::functional::cross_entropy(logits, target);
}

CodeClusters CodeClusters::from_labels(const torch::Tensor& labels, int64_t groups) {
  LETTER_CHECK(labels.dim() == 1 && labels.scalar_type() == torch::kInt64,
               "code clusters: labels must be (K) int64");
  LETTER_CHECK(groups >= 1 && labels.numel() > 0 && labels.min().item<int64_t>() >= 0 &&
                   labels.max().item<int64_t>() < groups,
               "code clusters: labels must lie in [0, ", groups, ")");
  auto lab = labels.cpu().contiguous();
  const int64_t K = lab.numel();
  const int64_t* lp = lab.data_ptr<int64_t>();
  std::vector<int64_t> size(groups, 0), start(groups, 0), members(K), rank(K);
  for (int64_t k = 0; k < K; ++k) ++size[lp[k]];
  for (int64_t g = 1; g < groups; ++g) start[g] = start[g - 1] + size[g - 1];
  std::vector<int64_t> fill(groups, 0);
  for (int64_t k = 0; k < K; ++k) {
    const int64_t g = lp[k];
    rank[k] = fill[g]++;
    members[start[g] + rank[k]] = k;
  }
  auto dev = labels.device();
  CodeClusters c;
  c.label = lab.to(dev);
  c.members = torch::tensor(members, torch::kInt64).to(dev);
  c.start = torch::tensor(start, torch::kInt64).to(dev);
  c.size = torch::tensor(size, torch::kInt64).to(dev);
  c.rank = torch::tensor(rank, torch::kInt64).to(dev);
  return c;
}

torch::Tensor sample_positives(const CodeClusters& cl, const torch::Tensor& codes, torch::Generator gen) {
  LETTER_CHECK(codes.dim() == 1 && codes.scalar_type() == torch::kInt64,
               "sample_positives: codes must be (B) int64");
  auto dev = cl.label.device();
  auto c = codes.to(dev);
  auto g = cl.label.index_select(0, c);      // cluster of each code
  auto n = cl.size.index_select(0, g);       // its size
  auto others = (n - 1).clamp_min(1);
  // j uniform in [0, n-1): the j-th member other than c itself.
  auto r = torch::rand({c.size(0)}, gen, torch::TensorOptions().dtype(torch::kFloat64)).to(dev);
  auto j = torch::minimum((r * others.to(torch::kFloat64)).floor().to(torch::kInt64), others - 1);
  j = j + (j >= cl.rank.index_select(0, c)).to(torch::kInt64);
  auto p = cl.members.index_select(0, (cl.start.index_select(0, g) + j).clamp_max(cl.members.size(0) - 1));
  // (entries of singleton clusters index a neighbour here and are replaced by -1 below)
  return torch::where(n > 1, p, torch::full_like(p, -1));
}

torch::Tensor diversity_loss(const torch::Tensor& codebook, const torch::Tensor& codes,
                             const torch::Tensor& positives) {
  LETTER_CHECK(codebook.dim() == 2, "diversity loss: codebook must be (K, D)");
  LETTER_CHECK(codes.dim() == 1 && positives.dim() == 1 && codes.size(0) == positives.size(0),
               "diversity loss: codes and positives must be (B) vectors of the same length");
  const int64_t K = codebook.size(0);
  // The official code builds (B, K) logits e_c . e_k, one row per sample; every sample
  // with code c has the same row, so all rows are rows of the (K, K) Gram matrix, and the
  // log-softmax is taken once per code instead of once per sample (same value and
  // gradient, B/K times less work: the batch of 1,024 has only 256 codes to choose from).
  auto gram = torch::mm(codebook, codebook.t());  // (K, K)
  // Exclude the code itself: the official code sets s_c = -1e12 before the softmax.
  auto self = torch::eye(K, torch::TensorOptions().dtype(torch::kBool).device(codebook.device()));
  auto logp = torch::log_softmax(gram.masked_fill(self, -1e12), 1);
  auto valid = (positives >= 0).to(logp.scalar_type());
  auto cell = codes.to(torch::kInt64) * K + positives.to(torch::kInt64).clamp_min(0);
  auto nll = -logp.reshape({-1}).index_select(0, cell);  // (B)
  // Mean over the samples that have a positive; 0 (with a zero gradient) when none has.
  return (nll * valid).sum() / valid.sum().clamp_min(1.0);
}

}  // namespace letter::quant
