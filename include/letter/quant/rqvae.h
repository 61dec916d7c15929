// RQ-VAE of LETTER's tokenizer (algorithms.md b.1, b.3, b.4): MLP encoder, residual
// quantizer with L codebooks of K x D codes (squared-L2 argmin, or Sinkhorn-balanced at the
// levels whose epsilon is > 0 while training), straight-through estimator, mirrored MLP
// decoder.
//
// Shapes: B batch, D_in input size, D = e_dim latent/code size, L levels, K codes per level.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/quant/options.h"

namespace letter::quant {

/// Encoder hidden sizes chosen when `tokenizer.layers` is empty: halve from D_in / 2 while
/// the size stays >= 2 * e_dim. For D_in = 4096, e_dim = 32 this is the paper's
/// [2048, 1024, 512, 256, 128, 64]; for 384-d MiniLM input [192, 96]. Inputs too small for
/// two halvings (e.g. 32-d CF vectors) get [4 e_dim, 2 e_dim].
std::vector<int64_t> default_layers(int64_t in_dim, int64_t e_dim);

/// Architecture of one RQ-VAE (everything needed to rebuild it from a checkpoint).
struct RqvaeOptions {
  int64_t in_dim = 0;                 ///< D_in
  std::vector<int64_t> layers;        ///< encoder hidden sizes (decoder mirrors them)
  int64_t e_dim = 32;                 ///< D
  int64_t levels = 4;                 ///< L
  int64_t codebook_size = 256;        ///< K
  double dropout = 0.0;               ///< MLP dropout
  bool bn = false;                    ///< BatchNorm1d after hidden Linears
  MlpDtype dtype = MlpDtype::kFloat32;  ///< MLP matmuls (tokenizer.dtype)
  std::vector<double> sk_epsilons;    ///< per level; 0 = argmin
  int64_t sk_iters = 50;              ///< Sinkhorn iterations
  double mu = 0.25;                   ///< commitment weight

  /// From the tokenizer config section and the input size (layers resolved).
  static RqvaeOptions from(const TokenizerOptions& t, int64_t in_dim);
  nlohmann::json to_json() const;
  static RqvaeOptions from_json(const nlohmann::json& j);
};

/// Dropout -> Linear -> [BatchNorm1d] -> ReLU blocks, no activation after the last Linear
/// (b.1). Xavier-normal weights, zero biases.
///
/// With `compute` = kBFloat16 the Linears multiply bfloat16 copies of their input, weight
/// and bias (float32 accumulation inside the kernel; mixed precision: the parameters, their
/// gradients and the optimizer stay float32, the casts pass gradients through). Hidden
/// activations stay bfloat16 between Linears (BatchNorm runs in float32); the output is
/// float32. Not in the official code (float32 throughout): an opt-in for speed.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(std::vector<int64_t> dims, double dropout, bool bn,
          torch::ScalarType compute = torch::kFloat32);
  /// x (B, dims.front()) float32 -> (B, dims.back()) float32.
  torch::Tensor forward(const torch::Tensor& x);
  void reset_parameters();

  std::vector<int64_t> dims;
  double dropout;
  torch::ScalarType compute;  ///< kFloat32 or kBFloat16
  std::vector<torch::nn::Linear> linears;
  std::vector<torch::nn::BatchNorm1d> norms;  ///< empty when bn is off
};
TORCH_MODULE(Mlp);

/// Output of the residual quantizer.
struct QuantizerOutput {
  torch::Tensor zq;          ///< (B, D) sum of code vectors; gradient = identity to z (STE)
  torch::Tensor codes;       ///< (B, L) int64
  torch::Tensor quant_loss;  ///< scalar: mean over levels of codebook + mu * commitment (b.4)
  torch::Tensor residual_last;  ///< (B, D) residual entering the last level (detached)
};

/// L codebooks (parameters codebook_0 .. codebook_{L-1}, each (K, D)).
class ResidualQuantizerImpl : public torch::nn::Module {
 public:
  ResidualQuantizerImpl(int64_t levels, int64_t codebook_size, int64_t dim,
                        std::vector<double> sk_epsilons, int64_t sk_iters, double mu);
  /// z (B, D) -> codes and the straight-through quantized latent. `use_sk` enables
  /// Sinkhorn at the levels with epsilon > 0 (training forward only, b.3).
  QuantizerOutput forward(const torch::Tensor& z, bool use_sk);
  /// Codes of one level for residuals r (B, D): argmin of squared L2 or Sinkhorn.
  torch::Tensor assign(int64_t level, const torch::Tensor& r, bool use_sk) const;
  /// Uniform(-1/K, 1/K), as nn.Embedding in the official code when k-means init is off.
  void reset_parameters();

  int64_t levels, codebook_size, dim;
  std::vector<double> sk_epsilons;
  int64_t sk_iters;
  double mu;
  std::vector<torch::Tensor> codebooks;
  mutable double sinkhorn_seconds = 0;  ///< wall time spent in Sinkhorn (profiling)
};
TORCH_MODULE(ResidualQuantizer);

/// Output of the full model.
struct RqvaeOutput {
  torch::Tensor x_hat;  ///< (B, D_in) reconstruction
  torch::Tensor z;      ///< (B, D) encoder output
  QuantizerOutput q;
};

/// Encoder + residual quantizer + decoder.
class RqvaeImpl : public torch::nn::Module {
 public:
  explicit RqvaeImpl(RqvaeOptions options);
  RqvaeOutput forward(const torch::Tensor& x, bool use_sk);

  RqvaeOptions options;
  Mlp encoder{nullptr}, decoder{nullptr};
  ResidualQuantizer quantizer{nullptr};
};
TORCH_MODULE(Rqvae);

/// The ScalarType of the MLP products.
torch::ScalarType mlp_dtype(MlpDtype dtype);

/// Squared L2 distances (B, K) between rows of r (B, D) and codebook (K, D), computed as
/// |r|^2 + |e|^2 - 2 r.e like the official code (b.3).
torch::Tensor code_distances(const torch::Tensor& r, const torch::Tensor& codebook);

}  // namespace letter::quant
