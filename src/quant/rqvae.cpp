// RQ-VAE (algorithms.md b.1, b.3, b.4); see rqvae.h.
#include "letter/quant/rqvae.h"

#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/quant/sinkhorn.h"

namespace letter::quant {

std::vector<int64_t> default_layers(int64_t in_dim, int64_t e_dim) {
  std::vector<int64_t> out;
  for (int64_t h = in_dim / 2; h >= 2 * e_dim; h /= 2) out.push_back(h);
  if (out.size() < 2) out = {4 * e_dim, 2 * e_dim};
  return out;
}

RqvaeOptions RqvaeOptions::from(const TokenizerOptions& t, int64_t in_dim) {
  RqvaeOptions o;
  o.in_dim = in_dim;
  o.layers = t.layers.empty() ? default_layers(in_dim, t.e_dim) : t.layers;
  o.e_dim = t.e_dim;
  o.levels = t.levels;
  o.codebook_size = t.codebook_size;
  o.dropout = t.dropout;
  o.bn = t.bn;
  o.dtype = t.dtype;
  o.sk_epsilons = t.sk_epsilons;
  o.sk_iters = t.sk_iters;
  o.mu = t.mu;
  return o;
}

nlohmann::json RqvaeOptions::to_json() const {
  return {{"in_dim", in_dim}, {"layers", layers},     {"e_dim", e_dim},
          {"levels", levels}, {"codebook_size", codebook_size}, {"dropout", dropout},
          {"bn", bn},         {"dtype", enum_name(dtype)},              {"sk_epsilons", sk_epsilons},
          {"sk_iters", sk_iters}, {"mu", mu}};
}

RqvaeOptions RqvaeOptions::from_json(const nlohmann::json& j) {
  RqvaeOptions o;
  try {
    o.in_dim = j.at("in_dim").get<int64_t>();
    o.layers = j.at("layers").get<std::vector<int64_t>>();
    o.e_dim = j.at("e_dim").get<int64_t>();
    o.levels = j.at("levels").get<int64_t>();
    o.codebook_size = j.at("codebook_size").get<int64_t>();
    o.dropout = j.at("dropout").get<double>();
    o.bn = j.at("bn").get<bool>();
    o.dtype = parse_enum<MlpDtype>(j.value("dtype", std::string("float32")),  // absent before session 5
                                   "tokenizer checkpoint: arch.dtype");
    o.sk_epsilons = j.at("sk_epsilons").get<std::vector<double>>();
    o.sk_iters = j.at("sk_iters").get<int64_t>();
    o.mu = j.at("mu").get<double>();
  } catch (const nlohmann::json::exception& e) {
    LETTER_FAIL("tokenizer checkpoint: malformed architecture record (", e.what(),
                "): re-run train-tokenizer");
  }
  return o;
}

// ---------------------------------------------------------------------------------------

MlpImpl::MlpImpl(std::vector<int64_t> dims_in, double dropout_in, bool bn, torch::ScalarType compute_in)
    : dims(std::move(dims_in)), dropout(dropout_in), compute(compute_in) {
  LETTER_CHECK(dims.size() >= 2, "MLP needs at least input and output sizes");
  LETTER_CHECK(compute == torch::kFloat32 || compute == torch::kBFloat16,
               "MLP compute type must be float32 or bfloat16");
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    linears.push_back(register_module("linear_" + std::to_string(i),
                                      torch::nn::Linear(dims[i], dims[i + 1])));
    if (bn && i + 2 < dims.size())
      norms.push_back(register_module("bn_" + std::to_string(i),
                                      torch::nn::BatchNorm1d(dims[i + 1])));
  }
  reset_parameters();
}

void MlpImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  for (auto& l : linears) {
    torch::nn::init::xavier_normal_(l->weight);
    torch::nn::init::zeros_(l->bias);
  }
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  const bool low = compute != torch::kFloat32;
  torch::Tensor h = low ? x.to(compute) : x;
  const size_t n = linears.size();
  for (size_t i = 0; i < n; ++i) {
    if (dropout > 0) h = torch::dropout(h, dropout, is_training());
    auto& lin = linears[i];
    h = low ? torch::linear(h, lin->weight.to(compute), lin->bias.to(compute)) : lin->forward(h);
    if (i + 1 < n) {
      if (!norms.empty()) h = low ? norms[i]->forward(h.to(torch::kFloat32)).to(compute) : norms[i]->forward(h);
      h = torch::relu(h);
    }
  }
  return low ? h.to(torch::kFloat32) : h;
}

torch::ScalarType mlp_dtype(MlpDtype dtype) {
  return dtype == MlpDtype::kBfloat16 ? torch::kBFloat16 : torch::kFloat32;
}

// ---------------------------------------------------------------------------------------

torch::Tensor code_distances(const torch::Tensor& r, const torch::Tensor& codebook) {
  auto e = codebook.detach();
  return r.pow(2).sum(1, true) + e.pow(2).sum(1).unsqueeze(0) - 2.0 * torch::mm(r, e.t());
}

ResidualQuantizerImpl::ResidualQuantizerImpl(int64_t levels_in, int64_t k, int64_t d,
                                             std::vector<double> eps, int64_t iters, double mu_in)
    : levels(levels_in), codebook_size(k), dim(d), sk_epsilons(std::move(eps)), sk_iters(iters),
      mu(mu_in) {
  LETTER_CHECK(levels >= 1 && k >= 1 && d >= 1, "residual quantizer: bad shape L=", levels,
               " K=", k, " D=", d);
  if (sk_epsilons.empty()) sk_epsilons.assign(levels, 0.0);
  LETTER_CHECK(static_cast<int64_t>(sk_epsilons.size()) == levels, "residual quantizer: ",
               sk_epsilons.size(), " Sinkhorn epsilons for ", levels, " levels");
  for (int64_t l = 0; l < levels; ++l)
    codebooks.push_back(register_parameter("codebook_" + std::to_string(l), torch::empty({k, d})));
  reset_parameters();
}

void ResidualQuantizerImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  for (auto& c : codebooks) c.uniform_(-1.0 / codebook_size, 1.0 / codebook_size);
}

torch::Tensor ResidualQuantizerImpl::assign(int64_t level, const torch::Tensor& r, bool use_sk) const {
  torch::NoGradGuard no_grad;
  auto d = code_distances(r.detach(), codebooks[level]);
  const double eps = sk_epsilons[level];
  if (use_sk && eps > 0) {
    Timer t;
    auto c = sinkhorn_codes(d, eps, sk_iters);
    sinkhorn_seconds += t.seconds();
    return c;
  }
  return d.argmin(1);
}

QuantizerOutput ResidualQuantizerImpl::forward(const torch::Tensor& z, bool use_sk) {
  LETTER_CHECK(z.dim() == 2 && z.size(1) == dim, "residual quantizer: expected (B, ", dim,
               ") latents, got ", z.sizes());
  QuantizerOutput out;
  torch::Tensor r = z, zq;
  std::vector<torch::Tensor> codes;
  torch::Tensor loss;
  for (int64_t l = 0; l < levels; ++l) {
    if (l + 1 == levels) out.residual_last = r.detach();
    auto c = assign(l, r, use_sk);  // (B)
    auto e = codebooks[l].index_select(0, c);  // (B, D), gradient to the codebook
    auto rd = r.detach();
    // b.4: codebook loss + mu * commitment.
    auto level_loss = torch::mse_loss(e, rd) + mu * torch::mse_loss(e.detach(), r);
    loss = l == 0 ? level_loss : loss + level_loss;
    auto diff = (e.detach() - rd);
    auto x_res = r + diff;  // straight-through: value e, gradient identity to r
    zq = l == 0 ? x_res : zq + x_res;
    // r_{l+1} = r_l - x_res_l: value r_l - e_l and, since x_res_l = r_l + sg(.), gradient
    // exactly zero, as in the official code; written as the detached difference.
    r = -diff;
    codes.push_back(c);
  }
  out.zq = zq;
  out.codes = torch::stack(codes, 1);
  out.quant_loss = loss / static_cast<double>(levels);
  return out;
}

// ---------------------------------------------------------------------------------------

RqvaeImpl::RqvaeImpl(RqvaeOptions o) : options(std::move(o)) {
  LETTER_CHECK(options.in_dim >= 1, "RQ-VAE: input size must be >= 1");
  std::vector<int64_t> enc{options.in_dim};
  enc.insert(enc.end(), options.layers.begin(), options.layers.end());
  enc.push_back(options.e_dim);
  std::vector<int64_t> dec(enc.rbegin(), enc.rend());
  const auto compute = mlp_dtype(options.dtype);
  encoder = register_module("encoder", Mlp(enc, options.dropout, options.bn, compute));
  decoder = register_module("decoder", Mlp(dec, options.dropout, options.bn, compute));
  quantizer = register_module(
      "quantizer", ResidualQuantizer(options.levels, options.codebook_size, options.e_dim,
                                     options.sk_epsilons, options.sk_iters, options.mu));
}

RqvaeOutput RqvaeImpl::forward(const torch::Tensor& x, bool use_sk) {
  LETTER_CHECK(x.dim() == 2 && x.size(1) == options.in_dim, "RQ-VAE: expected (B, ",
               options.in_dim, ") inputs, got ", x.sizes());
  RqvaeOutput out;
  out.z = encoder->forward(x);
  out.q = quantizer->forward(out.z, use_sk);
  out.x_hat = decoder->forward(out.q.zq);
  return out;
}

}  // namespace letter::quant
