#include "letter/rec/t5.h"

#include <cmath>

#include "letter/common/error.h"
#include "letter/rec/vocab.h"

namespace letter::rec {

namespace {
constexpr double kMaskValue = -1e9;  // additive bias of masked keys (HF: finfo.min)
}

T5Options T5Options::from(const RecommenderOptions& r, int64_t vocab_size) {
  T5Options o;
  o.vocab_size = vocab_size;
  o.d_model = r.d_model;
  o.d_kv = r.d_kv;
  o.heads = r.heads;
  o.d_ff = r.d_ff;
  o.encoder_layers = r.encoder_layers;
  o.decoder_layers = r.decoder_layers;
  o.rel_buckets = r.rel_buckets;
  o.rel_max_distance = r.rel_max_distance;
  o.dropout = r.dropout;
  return o;
}

torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                       int64_t num_buckets, int64_t max_distance) {
  auto rel = relative_position.to(torch::kInt64);
  auto buckets = torch::zeros_like(rel);
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + (rel > 0).to(torch::kInt64) * num_buckets;
    rel = rel.abs();
  } else {
    rel = -torch::min(rel, torch::zeros_like(rel));
  }
  const int64_t max_exact = num_buckets / 2;
  auto is_small = rel < max_exact;
  // max_exact + log(rel / max_exact) / log(max_distance / max_exact) * (num_buckets - max_exact)
  auto large = (torch::log(rel.to(torch::kFloat32) / static_cast<float>(max_exact)) /
                static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact)) *
                static_cast<float>(num_buckets - max_exact))
                   .to(torch::kInt64) +
               max_exact;
  large = torch::clamp_max(large, num_buckets - 1);
  return buckets + torch::where(is_small, rel, large);
}

torch::Tensor mask_bias(const torch::Tensor& mask) {
  LETTER_CHECK(mask.dim() == 2, "attention mask must be (B, S), got ", mask.sizes());
  auto zero = torch::zeros(mask.sizes(), torch::TensorOptions().dtype(torch::kFloat32).device(mask.device()));
  return zero.masked_fill(mask.logical_not(), kMaskValue).view({mask.size(0), 1, 1, mask.size(1)});
}

// ---- RMSNorm ----------------------------------------------------------------------------

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

void RMSNormImpl::reset_parameters() {
  torch::NoGradGuard g;
  weight.fill_(1.0);
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  // HF T5LayerNorm: variance in fp32, result cast back to the weight's half dtype if any.
  auto xf = x.to(torch::kFloat32);
  auto var = xf.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (xf * torch::rsqrt(var + eps_));
}

// ---- Attention --------------------------------------------------------------------------

T5AttentionImpl::T5AttentionImpl(const T5Options& opt, bool relative_bias, bool bidirectional)
    : opt_(opt), bidirectional_(bidirectional) {
  const int64_t inner = opt.heads * opt.d_kv;
  auto lin = [](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)); };
  q = register_module("q", lin(opt.d_model, inner));
  k = register_module("k", lin(opt.d_model, inner));
  v = register_module("v", lin(opt.d_model, inner));
  o = register_module("o", lin(inner, opt.d_model));
  if (relative_bias)
    relative_attention_bias =
        register_module("relative_attention_bias", torch::nn::Embedding(opt.rel_buckets, opt.heads));
  dropout_ = register_module("dropout", torch::nn::Dropout(opt.dropout));
  reset_parameters();
}

void T5AttentionImpl::reset_parameters() {
  torch::NoGradGuard g;
  const double f = opt_.init_factor, D = opt_.d_model, dk = opt_.d_kv, H = opt_.heads;
  q->weight.normal_(0.0, f * std::pow(D * dk, -0.5));
  k->weight.normal_(0.0, f * std::pow(D, -0.5));
  v->weight.normal_(0.0, f * std::pow(D, -0.5));
  o->weight.normal_(0.0, f * std::pow(H * dk, -0.5));
  if (relative_attention_bias) relative_attention_bias->weight.normal_(0.0, f * std::pow(D, -0.5));
}

torch::Tensor T5AttentionImpl::position_bias(int64_t q0, int64_t T, int64_t S) {
  LETTER_CHECK(relative_attention_bias, "position_bias needs the layer that owns the bias table");
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(relative_attention_bias->weight.device());
  auto ctx = torch::arange(q0, q0 + T, opts).unsqueeze(1);  // (T, 1)
  auto mem = torch::arange(0, S, opts).unsqueeze(0);        // (1, S)
  return position_bias(mem - ctx);
}

torch::Tensor T5AttentionImpl::position_bias(const torch::Tensor& rel) {
  LETTER_CHECK(relative_attention_bias, "position_bias needs the layer that owns the bias table");
  auto buckets = relative_position_bucket(rel, bidirectional_, opt_.rel_buckets, opt_.rel_max_distance);
  auto values = relative_attention_bias->forward(buckets);  // (T, S, H)
  return values.permute({2, 0, 1}).unsqueeze(0);              // (1, H, T, S)
}

torch::Tensor T5AttentionImpl::project_q(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1);
  return q->forward(x).view({B, T, opt_.heads, opt_.d_kv}).transpose(1, 2);
}

std::pair<torch::Tensor, torch::Tensor> T5AttentionImpl::project_kv(const torch::Tensor& x) {
  const int64_t B = x.size(0), S = x.size(1), inner = opt_.heads * opt_.d_kv;
  // One GEMM for keys and values (same parameters as two Linear layers).
  auto kv = torch::nn::functional::linear(x, torch::cat({k->weight, v->weight}, 0));  // (B, S, 2 inner)
  auto kk = kv.narrow(-1, 0, inner).reshape({B, S, opt_.heads, opt_.d_kv}).transpose(1, 2);
  auto vv = kv.narrow(-1, inner, inner).reshape({B, S, opt_.heads, opt_.d_kv}).transpose(1, 2);
  return {kk, vv};
}

torch::Tensor T5AttentionImpl::attend(const torch::Tensor& qq, const torch::Tensor& kk,
                                      const torch::Tensor& vv, const torch::Tensor& bias) {
  const int64_t B = qq.size(0), T = qq.size(2);
  auto scores = torch::matmul(qq, kk.transpose(-1, -2));  // (B, H, T, S), no 1/sqrt(dk) (T5)
  if (bias.defined()) scores = scores + bias;
  auto w = torch::softmax(scores.to(torch::kFloat32), -1).to(vv.scalar_type());
  w = dropout_->forward(w);
  auto out = torch::matmul(w, vv);  // (B, H, T, dk)
  return o->forward(out.transpose(1, 2).reshape({B, T, opt_.heads * opt_.d_kv}));
}

torch::Tensor T5AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& kv,
                                       const torch::Tensor& bias) {
  if (kv.defined() && !kv.is_same(x)) {
    auto [kk, vv] = project_kv(kv);
    return attend(project_q(x), kk, vv, bias);
  }
  // Self-attention: one GEMM for q, k and v.
  const int64_t B = x.size(0), T = x.size(1), inner = opt_.heads * opt_.d_kv;
  auto qkv = torch::nn::functional::linear(x, torch::cat({q->weight, k->weight, v->weight}, 0));
  auto split = [&](int64_t i) {
    return qkv.narrow(-1, i * inner, inner).reshape({B, T, opt_.heads, opt_.d_kv}).transpose(1, 2);
  };
  return attend(split(0), split(1), split(2), bias);
}

// ---- Feed-forward -------------------------------------------------------------------------

T5FeedForwardImpl::T5FeedForwardImpl(const T5Options& o) : opt_(o) {
  wi = register_module("wi", torch::nn::Linear(torch::nn::LinearOptions(o.d_model, o.d_ff).bias(false)));
  wo = register_module("wo", torch::nn::Linear(torch::nn::LinearOptions(o.d_ff, o.d_model).bias(false)));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  reset_parameters();
}

void T5FeedForwardImpl::reset_parameters() {
  torch::NoGradGuard g;
  wi->weight.normal_(0.0, opt_.init_factor * std::pow(static_cast<double>(opt_.d_model), -0.5));
  wo->weight.normal_(0.0, opt_.init_factor * std::pow(static_cast<double>(opt_.d_ff), -0.5));
}

torch::Tensor T5FeedForwardImpl::forward(const torch::Tensor& x) {
  return wo->forward(dropout_->forward(torch::relu(wi->forward(x))));
}

// ---- Block ------------------------------------------------------------------------------

T5BlockImpl::T5BlockImpl(const T5Options& o, bool causal, bool cross, bool relative_bias) {
  self_norm = register_module("self_norm", RMSNorm(o.d_model, o.eps));
  self_attn = register_module("self_attn", T5Attention(o, relative_bias, /*bidirectional=*/!causal));
  if (cross) {
    cross_norm = register_module("cross_norm", RMSNorm(o.d_model, o.eps));
    cross_attn = register_module("cross_attn", T5Attention(o, false, true));
  }
  ff_norm = register_module("ff_norm", RMSNorm(o.d_model, o.eps));
  ff = register_module("ff", T5FeedForward(o));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout));
}

torch::Tensor T5BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& self_bias,
                                   const torch::Tensor& enc, const torch::Tensor& cross_bias) {
  auto h = self_norm->forward(x);
  auto y = x + dropout->forward(self_attn->forward(h, h, self_bias));
  if (cross_attn) y = y + dropout->forward(cross_attn->forward(cross_norm->forward(y), enc, cross_bias));
  return y + dropout->forward(ff->forward(ff_norm->forward(y)));
}

// ---- T5 ---------------------------------------------------------------------------------

T5Impl::T5Impl(const T5Options& o) : opt_(o) {
  LETTER_CHECK(o.vocab_size > 0, "T5: vocab_size must be > 0");
  LETTER_CHECK(o.rel_buckets >= 4, "T5: rel_buckets must be >= 4, got ", o.rel_buckets);
  shared = register_module("shared", torch::nn::Embedding(o.vocab_size, o.d_model));
  encoder = register_module("encoder", torch::nn::ModuleList());
  decoder = register_module("decoder", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.encoder_layers; ++i) {
    enc_blocks_.push_back(T5Block(o, /*causal=*/false, /*cross=*/false, i == 0));
    encoder->push_back(enc_blocks_.back());
  }
  for (int64_t i = 0; i < o.decoder_layers; ++i) {
    dec_blocks_.push_back(T5Block(o, /*causal=*/true, /*cross=*/true, i == 0));
    decoder->push_back(dec_blocks_.back());
  }
  encoder_norm = register_module("encoder_norm", RMSNorm(o.d_model, o.eps));
  decoder_norm = register_module("decoder_norm", RMSNorm(o.d_model, o.eps));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  reset_parameters();
}

void T5Impl::reset_parameters() {
  torch::NoGradGuard g;
  shared->weight.normal_(0.0, opt_.init_factor);
  for (auto& b : enc_blocks_) {
    b->self_attn->reset_parameters();
    b->ff->reset_parameters();
    b->self_norm->reset_parameters();
    b->ff_norm->reset_parameters();
  }
  for (auto& b : dec_blocks_) {
    b->self_attn->reset_parameters();
    b->cross_attn->reset_parameters();
    b->ff->reset_parameters();
    b->self_norm->reset_parameters();
    b->cross_norm->reset_parameters();
    b->ff_norm->reset_parameters();
  }
  encoder_norm->reset_parameters();
  decoder_norm->reset_parameters();
}

torch::Tensor T5Impl::encode(const torch::Tensor& input, const torch::Tensor& mask) {
  LETTER_CHECK(input.dim() == 2 && mask.sizes() == input.sizes(), "encode: input (B, S) and mask (B, S) expected, got ",
               input.sizes(), " and ", mask.sizes());
  const int64_t S = input.size(1);
  auto h = dropout_->forward(shared->forward(input));
  auto bias = enc_blocks_[0]->self_attn->position_bias(0, S, S) + mask_bias(mask);  // (B, H, S, S)
  if (opt_.item_tokens > 0) {
    // Item-causal: token i (item i / L) sees token j only if item j <= item i.
    auto item = torch::arange(S, torch::TensorOptions().dtype(torch::kInt64).device(input.device()))
                    .div(opt_.item_tokens, "floor");
    auto hidden = item.unsqueeze(0) > item.unsqueeze(1);  // (S query, S key)
    bias = bias + torch::zeros({S, S}, bias.options()).masked_fill(hidden, kMaskValue);
  }
  for (auto& b : enc_blocks_) h = b->forward(h, bias);
  return dropout_->forward(encoder_norm->forward(h));
}

torch::Tensor T5Impl::decode(const torch::Tensor& dec_input, const torch::Tensor& enc,
                             const torch::Tensor& enc_mask) {
  const int64_t T = dec_input.size(1);
  auto y = dropout_->forward(shared->forward(dec_input));
  auto causal = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(y.device())).tril();
  auto self_bias = dec_blocks_[0]->self_attn->position_bias(0, T, T) +
                   torch::zeros({T, T}, torch::TensorOptions().device(y.device())).masked_fill(causal.logical_not(), kMaskValue);
  auto cross_bias = mask_bias(enc_mask);
  for (auto& b : dec_blocks_) y = b->forward(y, self_bias, enc, cross_bias);
  return dropout_->forward(decoder_norm->forward(y));
}

torch::Tensor T5Impl::decode_all_positions(const torch::Tensor& dec_input, const torch::Tensor& enc,
                                           const torch::Tensor& enc_mask) {
  const int64_t L = opt_.item_tokens, blk = L + 1, T = dec_input.size(1), S = enc.size(1);
  LETTER_CHECK(L > 0, "decode_all_positions needs the item-causal model (item_tokens > 0)");
  LETTER_CHECK(T % blk == 0, "decode_all_positions: decoder length ", T, " is not a multiple of ", blk);
  auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(dec_input.device());
  auto q = torch::arange(T, i64);
  auto block = q.div(blk, "floor"), pos = q.remainder(blk);
  // Self-attention: causal inside each block, nothing across blocks; positions restart per block.
  auto self_hidden = (block.unsqueeze(0) != block.unsqueeze(1)) | (pos.unsqueeze(0) > pos.unsqueeze(1));
  auto rel = pos.unsqueeze(0) - pos.unsqueeze(1);  // (T query, T key): key - query
  auto y = dropout_->forward(shared->forward(dec_input));
  auto self_bias = dec_blocks_[0]->self_attn->position_bias(rel) +
                   torch::zeros({T, T}, y.options().dtype(torch::kFloat32)).masked_fill(self_hidden, kMaskValue);
  // Cross-attention: block r sees encoder tokens < (r + 1) * L (its history) that are real.
  auto key = torch::arange(S, i64);
  auto cross_hidden = key.unsqueeze(0) >= ((block + 1) * L).unsqueeze(1);  // (T, S)
  auto cross_bias = mask_bias(enc_mask) +
                    torch::zeros({T, S}, y.options().dtype(torch::kFloat32)).masked_fill(cross_hidden, kMaskValue);
  for (auto& b : dec_blocks_) y = b->forward(y, self_bias, enc, cross_bias);  // cross_bias (B, 1, T, S)
  return dropout_->forward(decoder_norm->forward(y));
}

torch::Tensor T5Impl::logits(const torch::Tensor& hidden) {
  // Tied embeddings: rescale by d_model^-0.5 before the output projection (HF T5).
  return torch::matmul(hidden * std::pow(static_cast<double>(opt_.d_model), -0.5), shared->weight.t());
}

torch::Tensor T5Impl::forward(const torch::Tensor& input, const torch::Tensor& mask,
                              const torch::Tensor& dec_input) {
  return logits(decode(dec_input, encode(input, mask), mask));
}

DecoderCache T5Impl::start_decoding(const torch::Tensor& enc, const torch::Tensor& enc_mask, int64_t beams) {
  DecoderCache c;
  c.users = enc.size(0);
  c.beams = beams;
  c.shared_bias = mask_bias(enc_mask);
  for (auto& b : dec_blocks_) {
    auto [kk, vv] = b->cross_attn->project_kv(enc);
    c.shared_k.push_back(kk);
    c.shared_v.push_back(vv);
    c.self_k.emplace_back();
    c.self_v.emplace_back();
  }
  return c;
}

torch::Tensor T5Impl::prefill(const torch::Tensor& input, const torch::Tensor& mask, DecoderCache& cache) {
  cache = start_decoding(encode(input, mask), mask, 1);
  return decode_step(torch::full({input.size(0)}, CodeVocab::kStart, input.options().dtype(torch::kInt64)), cache);
}

torch::Tensor T5Impl::decode_step(const torch::Tensor& tokens, DecoderCache& c) {
  const int64_t N = tokens.size(0), B = c.users, W = c.beams, H = opt_.heads, dk = opt_.d_kv;
  LETTER_CHECK(N == B * W, "decode_step: expected ", B * W, " tokens (users x beams), got ", N);
  const int64_t t = c.steps;
  auto y = dropout_->forward(shared->forward(tokens.view({N, 1})));  // (N, 1, D)
  // Query at position t attends to keys 0..t: position bias only (all are in the past).
  auto self_bias = dec_blocks_[0]->self_attn->position_bias(t, 1, t + 1);  // (1, H, 1, t+1)
  for (size_t i = 0; i < dec_blocks_.size(); ++i) {
    auto& b = dec_blocks_[i];
    auto h = b->self_norm->forward(y);
    auto qq = b->self_attn->project_q(h);  // (N, H, 1, dk)
    auto [kk, vv] = b->self_attn->project_kv(h);
    c.self_k[i] = c.self_k[i].defined() ? torch::cat({c.self_k[i], kk}, 2) : kk;
    c.self_v[i] = c.self_v[i].defined() ? torch::cat({c.self_v[i], vv}, 2) : vv;
    y = y + b->dropout->forward(b->self_attn->attend(qq, c.self_k[i], c.self_v[i], self_bias));
    // Cross-attention: the W queries of a user share its encoder keys (no per-beam copy).
    auto qc = b->cross_attn->project_q(b->cross_norm->forward(y));  // (N, H, 1, dk)
    auto ctx = grouped_attention(qc, c.shared_k[i], c.shared_v[i], c.shared_bias, {}, {}, {});
    y = y + b->dropout->forward(b->cross_attn->o->forward(ctx.reshape({N, 1, H * dk})));
    y = y + b->dropout->forward(b->ff->forward(b->ff_norm->forward(y)));
  }
  c.steps += 1;
  return decode_logits(*this, decoder_norm->forward(y)).view({N, -1});
}

std::vector<torch::Tensor> decay_group(torch::nn::Module& m, bool decay) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.named_parameters(true))
    if ((p.key().find("norm") == std::string::npos) == decay) out.push_back(p.value());
  return out;
}

std::vector<torch::Tensor> T5Impl::decay_parameters() { return decay_group(*this, true); }
std::vector<torch::Tensor> T5Impl::no_decay_parameters() { return decay_group(*this, false); }

double T5Impl::forward_flops(double S, double T) const {
  const double D = opt_.d_model, I = opt_.heads * opt_.d_kv, F = opt_.d_ff, V = opt_.vocab_size;
  const double enc = 2 * S * D * 3 * I + 2 * S * I * D + 4 * S * S * I + 4 * S * D * F;
  const double dec = 2 * T * D * 3 * I + 2 * T * I * D + 4 * T * T * I  // self-attention
                     + 2 * T * D * I + 4 * S * D * I + 2 * T * I * D + 4 * T * S * I  // cross
                     + 4 * T * D * F;
  return opt_.encoder_layers * enc + opt_.decoder_layers * dec + 2 * T * D * V;
}

}  // namespace letter::rec
