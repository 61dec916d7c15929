#include "letter/quant/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/common/schedule.h"
#include "letter/common/torch_compat.h"
#include "letter/data/codes.h"
#include "letter/quant/kmeans.h"
#include "letter/quant/optim.h"
#include "letter/quant/rkmeans.h"

namespace letter::quant {

namespace {

torch::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

std::string ep_name(const char* stream, int64_t epoch, int64_t level = -1) {
  std::string s = std::string("tokenizer.") + stream + "." + std::to_string(epoch);
  if (level >= 0) s += "." + std::to_string(level);
  return s;
}

}  // namespace

std::pair<int64_t, int64_t> cluster_size_bounds(int64_t k, int64_t groups) {
  const int64_t smin = std::min<int64_t>(k / (2 * groups), 10);
  const int64_t smax = std::max<int64_t>(60, (k + groups - 1) / groups);
  return {smin, smax};
}

nlohmann::json EvalStats::to_json() const {
  return {{"epoch", epoch},
          {"recon_mse", recon_mse},
          {"quant_loss", quant_loss},
          {"collision_rate", collision_rate},
          {"used", used}};
}

RqvaeTrainer::RqvaeTrainer(const TokenizerOptions& t, const TokenizerInputs& in, torch::Device device,
                           uint64_t seed)
    : t_(t), device_(device), seed_(seed) {
  LETTER_CHECK(in.embeddings.defined() && in.embeddings.dim() == 2 && in.embeddings.size(0) > 0,
               "tokenizer trainer: embeddings must be a non-empty (N, D) matrix");
  LETTER_CHECK(t_.alpha <= 0 || (in.cf.defined() && in.cf.size(0) == in.embeddings.size(0)),
               "tokenizer trainer: alpha > 0 needs one CF vector per item");
  x_ = in.embeddings.to(device_, torch::kFloat32).contiguous();
  n_ = x_.size(0);
  if (t_.alpha > 0) cf_ = in.cf.to(device_, torch::kFloat32).contiguous();
  torch::manual_seed(derive_seed(seed_, "tokenizer.model"));
  model_ = Rqvae(RqvaeOptions::from(t_, x_.size(1)));
  model_->to(device_);
  if (t_.dtype == MlpDtype::kBfloat16 && !compat::fast_bf16(device_))
    spdlog::warn("tokenizer.dtype=bfloat16: this CPU has no AMX or AVX512-BF16 instructions, so "
                 "bfloat16 products are emulated and slower than float32");
  optimizer_ = std::make_unique<FusedAdamW>(
      model_->parameters(), torch::optim::AdamWOptions(t_.lr).weight_decay(t_.weight_decay));
  steps_per_epoch_ = (n_ + t_.batch_size - 1) / t_.batch_size;
}

double RqvaeTrainer::initialize_codebooks() {
  Timer timer;
  if (!t_.kmeans_init) return 0.0;
  torch::NoGradGuard no_grad;
  model_->eval();
  std::vector<torch::Tensor> zs;
  for (int64_t s = 0; s < n_; s += 4096) zs.push_back(model_->encoder->forward(x_.narrow(0, s, std::min<int64_t>(4096, n_ - s))));
  auto fit = fit_residual_levels(t_, torch::cat(zs).cpu(), seed_, "tokenizer.init", /*verbose=*/false);
  for (int64_t l = 0; l < t_.levels; ++l) model_->quantizer->codebooks[l].copy_(fit.codebooks[l].to(device_));
  model_->train();
  return timer.seconds();
}

double RqvaeTrainer::refresh_clusters(int64_t epoch) {
  Timer timer;
  torch::NoGradGuard no_grad;
  auto [smin, smax] = cluster_size_bounds(t_.codebook_size, t_.clusters);
  clusters_.clear();
  for (int64_t l = 0; l < t_.levels; ++l) {
    auto ko = tokenizer_kmeans_options(t_, t_.clusters, smin, smax, derive_seed(seed_, ep_name("clusters", epoch, l)));
    auto km = kmeans(model_->quantizer->codebooks[l].detach().cpu(), ko);
    clusters_.push_back(CodeClusters::from_labels(km.labels.to(device_), t_.clusters));
  }
  return timer.seconds();
}

std::vector<torch::Tensor> RqvaeTrainer::cluster_labels() const {
  std::vector<torch::Tensor> out;
  for (const auto& c : clusters_) out.push_back(c.label.cpu());
  return out;
}

void RqvaeTrainer::set_cluster_labels(const std::vector<torch::Tensor>& labels) {
  clusters_.clear();
  for (const auto& l : labels) clusters_.push_back(CodeClusters::from_labels(l.to(device_), t_.clusters));
}

EpochStats RqvaeTrainer::train_epoch(int64_t epoch) {
  Timer timer;
  EpochStats st;
  st.epoch = epoch;
  const bool diversity = t_.beta > 0;
  if (diversity && (epoch % t_.cluster_every == 0 || clusters_.empty()))
    st.cluster_seconds = refresh_clusters(epoch);
  model_->train();
  auto perm = torch::randperm(n_, make_generator(derive_seed(seed_, ep_name("shuffle", epoch))),
                              torch::kInt64)
                  .to(device_);
  auto pos_gen = make_generator(derive_seed(seed_, ep_name("positives", epoch)));
  const int64_t total_steps = t_.epochs * steps_per_epoch_;
  const int64_t warmup_steps = t_.warmup_epochs * steps_per_epoch_;
  auto params = model_->parameters();
  const double sk0 = model_->quantizer->sinkhorn_seconds;
  std::vector<torch::Tensor> sums;  // per step: loss, recon, quant, cf, diversity (detached)
  for (int64_t b = 0; b < steps_per_epoch_; ++b) {
    const int64_t s = b * t_.batch_size, len = std::min(t_.batch_size, n_ - s);
    auto idx = perm.narrow(0, s, len);
    auto xb = x_.index_select(0, idx);
    const int64_t step = epoch * steps_per_epoch_ + b;
    st.lr = t_.lr * lr_factor(step, total_steps, warmup_steps, t_.schedule);
    set_learning_rate(*optimizer_, st.lr);

    Timer phase;
    auto out = model_->forward(xb, /*use_sk=*/true);
    auto recon = torch::mse_loss(out.x_hat, xb);
    auto quant = out.q.quant_loss;
    torch::Tensor div = torch::zeros({}, xb.options()), cfl = torch::zeros({}, xb.options());
    if (diversity) {
      // b.4/b.5: L_l includes beta * L_div,l; L_RQ is the mean over levels.
      for (int64_t l = 0; l < t_.levels; ++l) {
        auto c = out.q.codes.select(1, l);
        auto pos = sample_positives(clusters_[l], c, pos_gen);
        div = div + diversity_loss(model_->quantizer->codebooks[l], c, pos);
      }
      div = div / static_cast<double>(t_.levels);
    }
    auto loss = recon + t_.quant_weight * (quant + t_.beta * div);
    if (t_.alpha > 0) {
      cfl = collaborative_loss(out.q.zq, cf_.index_select(0, idx));
      loss = loss + t_.alpha * cfl;
    }
    for (auto& p : params) p.mutable_grad() = torch::Tensor();  // zero_grad(set_to_none)
    st.forward_seconds += phase.seconds();
    phase.reset();
    loss.backward();
    st.backward_seconds += phase.seconds();
    phase.reset();
    optimizer_->step();
    st.optimizer_seconds += phase.seconds();
    sums.push_back(torch::stack({loss.detach(), recon.detach(), quant.detach(), cfl.detach(), div.detach()}));
  }
  auto mean = torch::stack(sums).mean(0).to(torch::kCPU, torch::kFloat64);
  auto m = mean.accessor<double, 1>();
  st.loss = m[0];
  st.recon = m[1];
  st.quant = m[2];
  st.cf = m[3];
  st.diversity = m[4];
  st.sinkhorn_seconds = model_->quantizer->sinkhorn_seconds - sk0;
  LETTER_CHECK(std::isfinite(st.loss), "tokenizer training diverged at epoch ", epoch,
               " (loss ", st.loss, "): lower tokenizer.lr or check the embeddings' scale");
  st.seconds = timer.seconds();
  return st;
}

Encoded RqvaeTrainer::encode_all() {
  torch::NoGradGuard no_grad;
  const bool was_training = model_->is_training();
  model_->eval();
  Encoded e;
  std::vector<torch::Tensor> codes, res, lat;
  double se = 0, ql = 0;
  for (int64_t s = 0; s < n_; s += 4096) {
    const int64_t len = std::min<int64_t>(4096, n_ - s);
    auto xb = x_.narrow(0, s, len);
    auto out = model_->forward(xb, /*use_sk=*/false);
    se += (out.x_hat - xb).pow(2).sum().item<double>();
    ql += out.q.quant_loss.item<double>() * len;
    codes.push_back(out.q.codes.cpu());
    res.push_back(out.q.residual_last.cpu());
    lat.push_back(out.q.zq.cpu());
  }
  if (was_training) model_->train();
  e.codes = torch::cat(codes);
  e.residual_last = torch::cat(res);
  e.latent = torch::cat(lat);
  e.recon_mse = se / (static_cast<double>(n_) * x_.size(1));
  e.quant_loss = ql / n_;
  return e;
}

EvalStats RqvaeTrainer::evaluate(int64_t epoch) {
  auto e = encode_all();
  EvalStats st;
  st.epoch = epoch;
  st.recon_mse = e.recon_mse;
  st.quant_loss = e.quant_loss;
  st.collision_rate = collision_stats(e.codes).rate();
  for (int64_t l = 0; l < e.codes.size(1); ++l)
    st.used.push_back(std::get<0>(torch::_unique(e.codes.select(1, l))).numel());
  return st;
}

double RqvaeTrainer::flops_per_epoch() const {
  // Per item: MLP forward MACs F; backward 2F minus the first encoder layer's input gradient
  // (inputs need none). Code distances L*K*D (forward only). Regularisers: diversity logits
  // K*D per level (forward + two backward products), CF logits B*D (forward + one backward).
  const auto& o = model_->options;
  double f = 0;
  std::vector<int64_t> dims{o.in_dim};
  dims.insert(dims.end(), o.layers.begin(), o.layers.end());
  dims.push_back(o.e_dim);
  for (size_t i = 0; i + 1 < dims.size(); ++i) f += 2.0 * dims[i] * dims[i + 1];  // enc + dec
  double per_item = 3.0 * f - static_cast<double>(dims[0]) * dims[1];
  per_item += static_cast<double>(o.levels) * o.codebook_size * o.e_dim;
  if (t_.beta > 0) per_item += 3.0 * o.levels * o.codebook_size * o.e_dim;
  if (t_.alpha > 0) per_item += 2.0 * std::min(t_.batch_size, n_) * o.e_dim;
  return 2.0 * per_item * n_;  // MAC = 2 FLOPs
}

}  // namespace letter::quant
