#include "letter/cf/sasrec.h"

#include <cmath>
#include <limits>

#include "letter/common/error.h"

namespace letter {

namespace F = torch::nn::functional;

SasRecBlockImpl::SasRecBlockImpl(int64_t hidden, int64_t heads_, double dropout_)
    : heads(heads_), dropout(dropout_) {
  LETTER_USAGE_CHECK(heads > 0 && hidden % heads == 0, "SASRec hidden size ", hidden,
                     " must be divisible by the number of heads ", heads);
  auto ln = torch::nn::LayerNormOptions({hidden}).eps(1e-8);  // pmixer's eps
  attn_norm = register_module("attn_norm", torch::nn::LayerNorm(ln));
  ffn_norm = register_module("ffn_norm", torch::nn::LayerNorm(ln));
  query = register_module("query", torch::nn::Linear(hidden, hidden));
  key_value = register_module("key_value", torch::nn::Linear(hidden, 2 * hidden));
  out = register_module("out", torch::nn::Linear(hidden, hidden));
  ffn1 = register_module("ffn1", torch::nn::Linear(hidden, hidden));
  ffn2 = register_module("ffn2", torch::nn::Linear(hidden, hidden));
}

torch::Tensor SasRecBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const int64_t B = x.size(0), T = x.size(1), d = x.size(2), dh = d / heads;
  auto q_in = attn_norm(x);                    // (B, T, d)
  auto q = query(q_in);                        // (B, T, d)
  auto kv = key_value(x).chunk(2, -1);         // 2 x (B, T, d)
  torch::Tensor k = kv[0], v = kv[1];
  if (heads > 1) {  // (B, T, d) -> (B, h, T, dh)
    q = q.view({B, T, heads, dh}).transpose(1, 2);
    k = k.view({B, T, heads, dh}).transpose(1, 2);
    v = v.view({B, T, heads, dh}).transpose(1, 2);
  }
  auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(dh)));
  att = torch::softmax(att + mask, -1);        // (B, [h,] T, T), causal
  att = F::dropout(att, F::DropoutFuncOptions().p(dropout).training(is_training()));
  auto ctx = torch::matmul(att, v);            // (B, [h,] T, dh)
  if (heads > 1) ctx = ctx.transpose(1, 2).reshape({B, T, d});
  auto y = q_in + out(ctx);                    // pmixer: residual on the normalised query
  y = ffn_norm(y);
  auto f = F::dropout(torch::relu(ffn1(y)), F::DropoutFuncOptions().p(dropout).training(is_training()));
  f = F::dropout(ffn2(f), F::DropoutFuncOptions().p(dropout).training(is_training()));
  return y + f;
}

SasRecImpl::SasRecImpl(int64_t num_items_, const CfOptions& options_)
    : num_items(num_items_), options(options_) {
  LETTER_CHECK(num_items > 0, "SASRec needs at least one item, got ", num_items);
  LETTER_USAGE_CHECK(options.hidden > 0 && options.heads > 0 && options.hidden % options.heads == 0,
                     "cf.hidden = ", options.hidden, " must be divisible by cf.heads = ",
                     options.heads);
  LETTER_USAGE_CHECK(options.max_len >= 1, "cf.max_len must be >= 1, got ", options.max_len);
  const int64_t d = options.hidden;
  item_emb = register_module(
      "item_emb", torch::nn::Embedding(torch::nn::EmbeddingOptions(num_items + 1, d).padding_idx(0)));
  pos_emb = register_module(
      "pos_emb",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(options.max_len + 1, d).padding_idx(0)));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t b = 0; b < options.blocks; ++b)
    blocks->push_back(SasRecBlock(d, options.heads, options.dropout));
  last_norm = register_module("last_norm",
                              torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-8)));
  reset_parameters();
}

void SasRecImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters(true)) {
    const auto& name = p.key();
    auto& t = p.value();
    if (name.find("norm") != std::string::npos) {
      if (name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0)
        t.fill_(1.0);
      else
        t.zero_();
    } else if (t.dim() >= 2) {
      torch::nn::init::xavier_normal_(t);
    } else {
      t.zero_();
    }
  }
  item_emb->weight[0].zero_();
  pos_emb->weight[0].zero_();
}

torch::Tensor SasRecImpl::forward(const torch::Tensor& items) {
  LETTER_CHECK(items.dim() == 2 && items.scalar_type() == torch::kInt64,
               "SASRec input must be (B, T) int64, got ", items.sizes(), " ", items.scalar_type());
  const int64_t T = items.size(1);
  LETTER_CHECK(T >= 1 && T <= options.max_len, "SASRec input length ", T,
               " outside [1, cf.max_len = ", options.max_len, "]");
  auto real = items.ne(0);                                                   // (B, T)
  auto pos = torch::arange(1, T + 1, items.options()).unsqueeze(0) * real;  // (B, T), 0 = pad
  auto x = item_emb(items) * std::sqrt(static_cast<double>(options.hidden)) + pos_emb(pos);
  x = F::dropout(x, F::DropoutFuncOptions().p(options.dropout).training(is_training()));
  auto mask = torch::full({T, T}, -std::numeric_limits<float>::infinity(),
                          x.options()).triu(1);                               // (T, T)
  for (const auto& block : *blocks) x = block->as<SasRecBlock>()->forward(x, mask);
  return last_norm(x);
}

torch::Tensor SasRecImpl::encode_last(const torch::Tensor& items, const torch::Tensor& lengths) {
  LETTER_CHECK(lengths.dim() == 1 && lengths.size(0) == items.size(0),
               "lengths must be (B,) with B = ", items.size(0), ", got ", lengths.sizes());
  auto h = forward(items);  // (B, T, d)
  auto idx = (lengths.to(items.device(), torch::kInt64) - 1).clamp(0, items.size(1) - 1);
  return h.gather(1, idx.view({-1, 1, 1}).expand({h.size(0), 1, h.size(2)})).squeeze(1);
}

torch::Tensor SasRecImpl::item_vectors() const { return item_emb->weight.narrow(0, 1, num_items); }

void SasRecImpl::set_item_vectors(const torch::Tensor& vectors) {
  LETTER_CHECK(vectors.dim() == 2 && vectors.size(0) == num_items && vectors.size(1) == options.hidden,
               "item vectors must be (N = ", num_items, ", d = ", options.hidden, "), got ",
               vectors.sizes());
  LETTER_CHECK(torch::isfinite(vectors).all().item<bool>(), "item vectors contain NaN or Inf");
  torch::NoGradGuard no_grad;
  item_vectors().copy_(vectors.to(item_emb->weight.device(), torch::kFloat32));
}

}  // namespace letter
