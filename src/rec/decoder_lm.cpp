#include "letter/rec/decoder_lm.h"

#include <cmath>

#include "letter/common/error.h"

namespace letter::rec {

namespace {
constexpr double kMaskValue = -1e9;
}

DecoderLMImpl::DecoderLMImpl(const T5Options& o) : opt_(o) {
  LETTER_CHECK(o.vocab_size > 0, "decoder: vocab_size must be > 0");
  LETTER_CHECK(o.decoder_layers >= 1, "decoder: needs at least one layer");
  shared = register_module("shared", torch::nn::Embedding(o.vocab_size, o.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.decoder_layers; ++i) {
    blocks_.push_back(T5Block(o, /*causal=*/true, /*cross=*/false, i == 0));
    layers->push_back(blocks_.back());
  }
  final_norm = register_module("final_norm", RMSNorm(o.d_model, o.eps));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  reset_parameters();
}

void DecoderLMImpl::reset_parameters() {
  torch::NoGradGuard g;
  shared->weight.normal_(0.0, opt_.init_factor);
  for (auto& b : blocks_) {
    b->self_attn->reset_parameters();
    b->ff->reset_parameters();
    b->self_norm->reset_parameters();
    b->ff_norm->reset_parameters();
  }
  final_norm->reset_parameters();
}

torch::Tensor DecoderLMImpl::self_bias(const torch::Tensor& mask) {
  const int64_t T = mask.size(1);
  auto future = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(mask.device())).triu(1);
  auto causal = torch::zeros({T, T}, torch::TensorOptions().device(mask.device())).masked_fill(future, kMaskValue);
  return blocks_[0]->self_attn->position_bias(0, T, T) + causal + mask_bias(mask);
}

torch::Tensor DecoderLMImpl::forward(const torch::Tensor& tokens, const torch::Tensor& mask) {
  LETTER_CHECK(tokens.dim() == 2 && mask.sizes() == tokens.sizes(), "decoder: tokens (B, T) and mask (B, T) expected, got ",
               tokens.sizes(), " and ", mask.sizes());
  auto h = dropout_->forward(shared->forward(tokens));
  auto bias = self_bias(mask);
  for (auto& b : blocks_) h = b->forward(h, bias);
  return dropout_->forward(final_norm->forward(h));
}

torch::Tensor DecoderLMImpl::logits(const torch::Tensor& hidden) {
  return torch::matmul(hidden * std::pow(static_cast<double>(opt_.d_model), -0.5), shared->weight.t());
}

torch::Tensor DecoderLMImpl::prefill(const torch::Tensor& input, const torch::Tensor& mask, DecoderCache& c) {
  LETTER_CHECK(input.dim() == 2 && mask.sizes() == input.sizes(), "decoder prefill: input (B, S) and mask (B, S) expected");
  const int64_t B = input.size(0), S = input.size(1);
  c = DecoderCache();
  c.users = B;
  c.beams = 1;
  c.prefix = S;
  c.shared_bias = mask_bias(mask);
  auto h = dropout_->forward(shared->forward(input));
  auto bias = self_bias(mask);
  for (auto& b : blocks_) {
    auto hn = b->self_norm->forward(h);
    auto [kk, vv] = b->self_attn->project_kv(hn);
    h = h + b->dropout->forward(b->self_attn->attend(b->self_attn->project_q(hn), kk, vv, bias));
    h = h + b->dropout->forward(b->ff->forward(b->ff_norm->forward(h)));
    c.shared_k.push_back(kk);
    c.shared_v.push_back(vv);
    c.self_k.emplace_back();
    c.self_v.emplace_back();
  }
  auto last = final_norm->forward(h.select(1, S - 1));  // left-padded: the newest token
  return decode_logits(*this, last);
}

torch::Tensor DecoderLMImpl::step(const torch::Tensor& tokens, DecoderCache& c) {
  const int64_t N = tokens.size(0), H = opt_.heads, dk = opt_.d_kv, S = c.prefix, t = c.steps;
  LETTER_CHECK(N == c.users * c.beams, "decoder step: expected ", c.users * c.beams, " tokens, got ", N);
  auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(tokens.device());
  // The new token sits at position S + t: relative positions to the history keys 0..S-1
  // and to the generated keys S..S+t.
  auto& attn0 = blocks_[0]->self_attn;
  auto shared_bias = attn0->position_bias((torch::arange(S, i64) - (S + t)).unsqueeze(0)) + c.shared_bias;
  auto own_bias = attn0->position_bias((torch::arange(t + 1, i64) - t).unsqueeze(0));  // (1, H, 1, t+1)
  auto y = dropout_->forward(shared->forward(tokens.view({N, 1})));
  for (size_t i = 0; i < blocks_.size(); ++i) {
    auto& b = blocks_[i];
    auto hn = b->self_norm->forward(y);
    auto [kk, vv] = b->self_attn->project_kv(hn);
    c.self_k[i] = c.self_k[i].defined() ? torch::cat({c.self_k[i], kk}, 2) : kk;
    c.self_v[i] = c.self_v[i].defined() ? torch::cat({c.self_v[i], vv}, 2) : vv;
    auto ctx = grouped_attention(b->self_attn->project_q(hn), c.shared_k[i], c.shared_v[i], shared_bias, c.self_k[i],
                                 c.self_v[i], own_bias);
    y = y + b->dropout->forward(b->self_attn->o->forward(ctx.reshape({N, 1, H * dk})));
    y = y + b->dropout->forward(b->ff->forward(b->ff_norm->forward(y)));
  }
  c.steps += 1;
  return decode_logits(*this, final_norm->forward(y)).view({N, -1});
}

double DecoderLMImpl::forward_flops(double T) const {
  const double D = opt_.d_model, I = opt_.heads * opt_.d_kv, F = opt_.d_ff, V = opt_.vocab_size;
  const double layer = 2 * T * D * 3 * I + 2 * T * I * D + 4 * T * T * I + 4 * T * D * F;
  return opt_.decoder_layers * layer + 2 * T * D * V;
}

}  // namespace letter::rec
