// The train-tokenizer stage (see tokenizer.h): inputs, presets, the RQ-VAE trainer,
// residual k-means, checkpoints/resume, collision-free codes and the report.
#include "letter/quant/tokenizer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>

#include "letter/common/checkpoint.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/common/schedule.h"
#include "letter/common/torch_compat.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/io/npy.h"
#include "letter/quant/kmeans.h"
#include "letter/quant/optim.h"
#include "letter/quant/report.h"

namespace letter::quant {

namespace {

torch::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

std::string ep_name(const char* stream, int64_t epoch, int64_t level = -1) {
  std::string s = std::string("tokenizer.") + stream + "." + std::to_string(epoch);
  if (level >= 0) s += "." + std::to_string(level);
  return s;
}

// The constrained k-means settings of a tokenizer run for k clusters of smin..smax points.
KMeansOptions kmeans_options(const TokenizerOptions& t, int64_t k, int64_t smin, int64_t smax, uint64_t seed) {
  KMeansOptions ko;
  ko.k = k;
  ko.max_iter = t.kmeans_iters;
  ko.n_init = t.kmeans_restarts;
  ko.size_min = smin;
  ko.size_max = smax;
  ko.seed = seed;
  return ko;
}

// First row holding NaN/Inf, or -1.
int64_t first_bad_row(const torch::Tensor& x) {
  auto bad = (~torch::isfinite(x)).any(1);
  if (!bad.any().item<bool>()) return -1;
  return bad.nonzero()[0][0].item<int64_t>();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Presets, methods, bounds

std::vector<std::string> apply_preset(TokenizerOptions& t, const std::string& preset) {
  if (preset.empty()) return {};
  TokenizerOptions p = t;
  if (preset == "paper") {
    // b.7: AdamW lr 1e-3 constant, 10,000 epochs (released codes), eval every 2000.
    p.epochs = 10000;
    p.lr = 1e-3;
    p.warmup_epochs = 0;
    p.schedule = "constant";
    p.eval_every = 2000;
  } else if (preset == "quick") {
    // 10% of the paper's epochs with a 20-epoch warm-up to a 6x higher lr and cosine decay.
    // Measured on Beauty MiniLM embeddings against the paper schedule's final (10,000-epoch)
    // numbers (README "Tokenizer", three seeds): reconstruction 0.001284-0.001287 vs
    // 0.001290, collision rate 0.00157-0.00215 (mean 21.3 items) vs 0.00182 (22 items),
    // first-level usage 102-119 (mean 108) vs 104. Searched: lr 1e-3, 2e-3, 4e-3 (800
    // epochs), 6e-3 and 8e-3.
    // TIGER (no Sinkhorn, no diversity loss) collapses its lower levels at lr 6e-3 on Beauty
    // (used 221/25/9/5 codes, 15% collisions); it keeps the previous quick schedule, 800
    // epochs at lr 4e-3 (all 256 codes used at every level on Beauty and Instruments).
    const bool tiger = t.method == "tiger";
    p.epochs = tiger ? 800 : 1000;
    p.lr = tiger ? 4e-3 : 6e-3;
    p.warmup_epochs = 20;
    p.schedule = "cosine";
    p.eval_every = 100;
  } else {
    LETTER_USAGE_CHECK(false, "unknown tokenizer preset '", preset, "' (quick | paper)");
  }
  std::vector<std::string> changed;
  if (p.epochs != t.epochs) changed.push_back("epochs");
  if (p.lr != t.lr) changed.push_back("lr");
  if (p.warmup_epochs != t.warmup_epochs) changed.push_back("warmup_epochs");
  if (p.schedule != t.schedule) changed.push_back("schedule");
  if (p.eval_every != t.eval_every) changed.push_back("eval_every");
  p.preset = preset;
  t = p;
  return changed;
}

TokenizerOptions effective_options(const TokenizerOptions& t) {
  TokenizerOptions e = t;
  if (e.method == "tiger") {
    e.alpha = 0;
    e.beta = 0;
    e.sk_epsilons.assign(e.levels, 0.0);
  }
  return e;
}

std::pair<int64_t, int64_t> init_size_bounds(int64_t n, int64_t k) {
  const int64_t smin = std::min<int64_t>(n / (2 * k), 50);
  const int64_t smax = std::max<int64_t>(4 * smin, (n + k - 1) / k);
  return {smin, smax};
}

std::pair<int64_t, int64_t> cluster_size_bounds(int64_t k, int64_t groups) {
  const int64_t smin = std::min<int64_t>(k / (2 * groups), 10);
  const int64_t smax = std::max<int64_t>(60, (k + groups - 1) / groups);
  return {smin, smax};
}

// ---------------------------------------------------------------------------------------
// Inputs

TokenizerInputs load_inputs(const TokenizerOptions& t, const std::string& run_dir) {
  TokenizerInputs in;
  in.embeddings_path = !t.embeddings.empty() ? t.embeddings : join(run_dir, "items.emb.npy");
  LETTER_CHECK(path_exists(in.embeddings_path), "embeddings not found: ", in.embeddings_path,
               " (run 'letter embed --out RUN_DIR' first, or set tokenizer.embeddings)");
  in.embeddings = io::read_npy(in.embeddings_path);
  const auto e = effective_options(t);
  const bool need_cf = e.method != "rkmeans" && e.alpha > 0;
  in.cf_path = !t.cf.empty() ? t.cf : join(run_dir, "items.cf.npy");
  if (path_exists(in.cf_path)) {
    in.cf = io::read_npy(in.cf_path);
  } else {
    LETTER_CHECK(!need_cf, "CF vectors not found: ", in.cf_path, " (method ", e.method,
                 " with alpha = ", e.alpha,
                 " needs them: run 'letter train-cf', set tokenizer.cf, or use alpha = 0)");
    if (!t.cf.empty()) LETTER_FAIL("CF vectors not found: ", in.cf_path);
    in.cf_path.clear();
  }
  check_inputs(e, in);
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
  const bool need_cf = e.method != "rkmeans" && e.alpha > 0;
  LETTER_CHECK(!need_cf || in.cf.defined(), "method ", e.method, " with alpha = ", e.alpha,
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
  if (e.method == "rkmeans" || e.kmeans_init)
    LETTER_CHECK(e.codebook_size <= n, "tokenizer.codebook_size = ", e.codebook_size, " exceeds the ",
                 n, " items of ", ep, ": k-means cannot initialise more codes than items");
}

// ---------------------------------------------------------------------------------------
// Trainer

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
  check_inputs(t_, in);
  x_ = in.embeddings.to(device_, torch::kFloat32).contiguous();
  n_ = x_.size(0);
  if (t_.alpha > 0) cf_ = in.cf.to(device_, torch::kFloat32).contiguous();
  torch::manual_seed(derive_seed(seed_, "tokenizer.model"));
  model_ = Rqvae(RqvaeOptions::from(t_, x_.size(1)));
  model_->to(device_);
  if (t_.dtype == "bfloat16" && !compat::fast_bf16(device_))
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
    auto ko = kmeans_options(t_, t_.clusters, smin, smax, derive_seed(seed_, ep_name("clusters", epoch, l)));
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
  st.collision_rate = collision_rate(e.codes);
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

// ---------------------------------------------------------------------------------------
// Residual k-means

ResidualKMeans fit_residual_levels(const TokenizerOptions& t, torch::Tensor r, uint64_t seed,
                                   const std::string& stream, bool verbose) {
  torch::NoGradGuard no_grad;
  r = r.to(torch::kCPU, torch::kFloat32).contiguous();
  auto [smin, smax] = init_size_bounds(r.size(0), t.codebook_size);
  ResidualKMeans out;
  std::vector<torch::Tensor> codes;
  for (int64_t l = 0; l < t.levels; ++l) {
    if (l + 1 == t.levels) out.residual_last = r.clone();
    auto ko = kmeans_options(t, t.codebook_size, smin, smax, derive_seed(seed, stream + "." + std::to_string(l)));
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

// ---------------------------------------------------------------------------------------
// Reports

nlohmann::json codes_report(const torch::Tensor& codes, const torch::Tensor& cf, const std::string& source,
                            int64_t table4_levels) {
  nlohmann::json st;
  st["source"] = source;
  st["items"] = codes.size(0);
  st["levels"] = codes.size(1);
  st["code_levels"] = level_stats(codes, 0);
  const auto counts = std::get<2>(torch::unique_dim(codes.cpu(), 0, /*sorted=*/true, /*return_inverse=*/false,
                                                    /*return_counts=*/true));
  const int64_t n = codes.size(0), distinct = counts.size(0);
  const double rate = n ? static_cast<double>(n - distinct) / n : 0.0;  // = collision_rate(codes)
  st["collision_rate"] = rate;
  st["distinct_tuples"] = distinct;
  // The schema of ResolveReport's "before" fields, so that imported and trained codes read
  // alike; "resolved": false says these codes are reported as given.
  st["collisions"] = {{"items", n},
                      {"levels", codes.size(1)},
                      {"distinct_before", distinct},
                      {"collisions_before", n - distinct},
                      {"collision_rate_before", rate},
                      {"groups_before", (counts >= 2).sum().item<int64_t>()},
                      {"max_group_before", n ? counts.max().item<int64_t>() : 0},
                      {"resolved", false}};
  const int64_t t4 = table4_levels > 0 ? std::min<int64_t>(table4_levels, codes.size(1)) : codes.size(1);
  st["table4_levels"] = t4;
  if (cf.defined())
    st["table4_overlap"] = cf_neighbor_overlap(codes, cf, t4);
  else
    st["table4_overlap"] = nullptr;
  return st;
}

// ---------------------------------------------------------------------------------------
// The stage

namespace {

void write_codes(const std::string& out, const torch::Tensor& codes, const TokenizerRunEnv& env) {
  Dataset ds;
  ds.name = env.title.empty() ? "items" : env.title;
  if (!env.item_ids.empty()) {
    LETTER_CHECK(static_cast<int64_t>(env.item_ids.size()) == codes.size(0), "dataset has ",
                 env.item_ids.size(), " items but the embeddings have ", codes.size(0),
                 " rows: use the embeddings of this dataset");
    ds.item_ids = env.item_ids;
  } else {
    for (int64_t i = 0; i < codes.size(0); ++i) ds.item_ids.push_back(std::to_string(i));
  }
  write_index_json(join(out, "codes.json"), codes, ds);
  io::write_npy(join(out, "codes.npy"), codes);
}

}  // namespace

TokenizerRunResult run_tokenizer(const TokenizerOptions& t, const TokenizerInputs& in,
                                 const TokenizerRunEnv& env) {
  const TokenizerOptions e = effective_options(t);
  check_inputs(e, in);
  const int64_t n = in.embeddings.size(0), L = e.levels, K = e.codebook_size;
  LETTER_USAGE_CHECK(!env.resume || !env.out.empty(), "--resume needs --out RUN_DIR");
  if (!env.out.empty()) ensure_dir(env.out);
  TokenizerRunResult res;
  nlohmann::json st;
  st["method"] = e.method;
  st["preset"] = e.preset;
  st["items"] = n;
  st["input_dim"] = in.embeddings.size(1);
  st["levels"] = L;
  st["codebook_size"] = K;
  st["embeddings"] = in.embeddings_path;
  st["cf"] = in.cf_path;
  st["device"] = env.device.str();
  st["threads"] = torch::get_num_threads();
  st["seed"] = env.seed;
  torch::Tensor residual_last, last_codebook;
  double recon = 0;
  Timer total;

  if (e.method == "rkmeans") {
    spdlog::info("rkmeans: {} items x {} dims, {} levels x {} codes", n, in.embeddings.size(1), L, K);
    auto rk = residual_kmeans(e, in.embeddings, env.seed);
    res.argmin_codes = rk.codes;
    residual_last = rk.residual_last;
    last_codebook = rk.codebooks.back();
    recon = rk.recon_mse;
    st["training"] = {{"epochs", 0}, {"init_seconds", total.seconds()}, {"train_seconds", 0.0},
                      {"seconds_per_epoch", 0.0}};
    if (!env.out.empty()) {
      ResidualQuantizer rq(L, K, in.embeddings.size(1), std::vector<double>(L, 0.0), e.sk_iters, e.mu);
      {
        torch::NoGradGuard ng;
        for (int64_t l = 0; l < L; ++l) rq->codebooks[l].copy_(rk.codebooks[l]);
      }
      CheckpointHeader h{kTokenizerFormat, kTokenizerVersion, env.config,
                         {{"method", "rkmeans"}, {"in_dim", in.embeddings.size(1)}}};
      save_checkpoint(join(env.out, "tokenizer.pt"), *rq, nullptr, h);
    }
  } else {
    RqvaeTrainer tr(e, in, env.device, env.seed);
    const auto arch = tr.model()->options.to_json();
    spdlog::info("{}: {} items x {} dims, encoder {}, {} levels x {} codes x {}, alpha={} beta={} "
                 "sk_epsilons={} epochs={} lr={} schedule={} warmup={} batch={} dtype={}",
                 e.method, n, in.embeddings.size(1), arch["layers"].dump(), L, K, e.e_dim, e.alpha,
                 e.beta, nlohmann::json(e.sk_epsilons).dump(), e.epochs, e.lr, e.schedule,
                 e.warmup_epochs, e.batch_size, e.dtype);
    const std::string resume_path = join(env.out, "tokenizer.resume.pt");
    const std::string best_path = join(env.out, "tokenizer.best.pt");
    int64_t start = 0;
    double best = std::numeric_limits<double>::infinity(), train_seconds = 0, init_seconds = 0,
           cluster_seconds = 0;
    int64_t best_epoch = -1;
    nlohmann::json history = nlohmann::json::array();
    auto state_json = [&](int64_t next_epoch) {
      nlohmann::json labels = nlohmann::json::array();
      for (const auto& lt : tr.cluster_labels()) {
        auto c = lt.contiguous();
        labels.push_back(std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()));
      }
      return nlohmann::json{{"method", e.method},   {"arch", arch},
                            {"next_epoch", next_epoch}, {"best_collision", best},
                            {"best_epoch", best_epoch}, {"history", history},
                            {"train_seconds", train_seconds}, {"init_seconds", init_seconds},
                            {"cluster_seconds", cluster_seconds}, {"cluster_labels", labels},
                            {"items", n}};
    };
    if (env.resume) {
      LETTER_CHECK(path_exists(resume_path), "--resume: ", resume_path,
                   " not found; start the run without --resume");
      auto hdr = read_checkpoint_header(resume_path);
      // Through RqvaeOptions so that older checkpoints (no "dtype" key: float32) compare.
      const auto saved = hdr.state.value("arch", nlohmann::json());
      LETTER_CHECK(saved.is_object() && RqvaeOptions::from_json(saved).to_json() == arch &&
                       hdr.state.value("method", "") == e.method && hdr.state.value("items", int64_t{-1}) == n,
                   "--resume: ", resume_path, " was trained with a different method, architecture or ",
                   "item count than the current config; use a fresh --out");
      auto h = load_checkpoint(resume_path, *tr.model(), &tr.optimizer(), kTokenizerFormat,
                               kTokenizerVersion, /*restore_rng=*/true);
      start = h.state.at("next_epoch").get<int64_t>();
      best = h.state.at("best_collision").is_number() ? h.state["best_collision"].get<double>()
                                                      : std::numeric_limits<double>::infinity();
      best_epoch = h.state.value("best_epoch", int64_t{-1});
      history = h.state.value("history", nlohmann::json::array());
      train_seconds = h.state.value("train_seconds", 0.0);
      init_seconds = h.state.value("init_seconds", 0.0);
      cluster_seconds = h.state.value("cluster_seconds", 0.0);
      std::vector<torch::Tensor> labels;
      for (const auto& l : h.state.value("cluster_labels", nlohmann::json::array()))
        labels.push_back(torch::tensor(l.get<std::vector<int64_t>>(), torch::kInt64));
      if (!labels.empty()) tr.set_cluster_labels(labels);
      spdlog::info("resuming from {} at epoch {} of {}", resume_path, start, e.epochs);
    } else {
      init_seconds = tr.initialize_codebooks();
      spdlog::info("codebook init (constrained k-means, {} levels): {:.1f} s", L, init_seconds);
    }
    Progress progress("train-tokenizer", e.epochs - start, "epochs");
    for (int64_t ep = start; ep < e.epochs; ++ep) {
      auto es = tr.train_epoch(ep);
      train_seconds += es.seconds;
      cluster_seconds += es.cluster_seconds;
      char extra[200];
      std::snprintf(extra, sizeof(extra),
                    "epoch=%lld loss=%.5f recon=%.5f quant=%.5f cf=%.4f div=%.4f lr=%.2e s/epoch=%.3f",
                    static_cast<long long>(ep + 1), es.loss, es.recon, es.quant, es.cf, es.diversity,
                    es.lr, es.seconds);
      progress.update(1, extra);
      const bool last = ep + 1 == e.epochs;
      const bool do_eval = (ep + 1) % e.eval_every == 0 || last;
      if (do_eval) {
        auto ev = tr.evaluate(ep + 1);
        auto j = ev.to_json();
        j["train_loss"] = es.loss;
        j["train_recon"] = es.recon;
        j["seconds"] = train_seconds;
        history.push_back(j);
        // Watchable while a long run trains (stats.json is written at the end).
        if (!env.out.empty()) write_json_atomic(join(env.out, "history.json"), history);
        spdlog::info("eval epoch={} collision_rate={:.5f} recon_mse={:.6g} quant={:.5g} used={} "
                     "train_loss={:.5f} elapsed={:.1f}s",
                     ep + 1, ev.collision_rate, ev.recon_mse, ev.quant_loss,
                     nlohmann::json(ev.used).dump(), es.loss, train_seconds);
        if (ev.collision_rate < best) {
          best = ev.collision_rate;
          best_epoch = ep + 1;
          if (!env.out.empty())
            save_checkpoint(best_path, *tr.model(), nullptr,
                            {kTokenizerFormat, kTokenizerVersion, env.config, state_json(ep + 1)});
        }
      }
      if (!env.out.empty() && (do_eval || (ep + 1) % e.checkpoint_every == 0))
        save_checkpoint(resume_path, *tr.model(), &tr.optimizer(),
                        {kTokenizerFormat, kTokenizerVersion, env.config, state_json(ep + 1)});
    }
    progress.finish();
    if (e.codes_from == "best" && !env.out.empty() && path_exists(best_path)) {
      load_checkpoint(best_path, *tr.model(), nullptr, kTokenizerFormat, kTokenizerVersion);
      spdlog::info("codes from the best-collision weights (epoch {})", best_epoch);
    }
    if (!env.out.empty())
      save_checkpoint(join(env.out, "tokenizer.pt"), *tr.model(), nullptr,
                      {kTokenizerFormat, kTokenizerVersion, env.config, state_json(e.epochs)});
    auto enc = tr.encode_all();
    res.argmin_codes = enc.codes;
    residual_last = enc.residual_last;
    last_codebook = tr.model()->quantizer->codebooks[L - 1].detach().cpu();
    recon = enc.recon_mse;
    const int64_t trained = e.epochs;
    st["training"] = {{"epochs", trained},
                      {"init_seconds", init_seconds},
                      {"train_seconds", train_seconds},
                      {"cluster_seconds", cluster_seconds},
                      {"seconds_per_epoch", trained > 0 ? train_seconds / trained : 0.0},
                      {"lr", e.lr},
                      {"schedule", e.schedule},
                      {"warmup_epochs", e.warmup_epochs},
                      {"best_collision_rate", best},
                      {"best_epoch", best_epoch},
                      {"codes_from", e.codes_from},
                      {"history", history},
                      {"arch", arch},
                      {"alpha", e.alpha},
                      {"beta", e.beta},
                      {"sk_epsilons", e.sk_epsilons}};
  }

  auto identity = identical_rows(in.embeddings);
  res.codes = resolve_collisions(res.argmin_codes, residual_last, last_codebook, identity, &res.resolve);
  st["code_levels"] = level_stats(res.codes.narrow(1, 0, L), K);
  st["code_levels_argmin"] = level_stats(res.argmin_codes, K);
  st["collisions"] = res.resolve.to_json();
  st["recon_mse"] = recon;
  st["table4_overlap"] =
      in.cf.defined() ? nlohmann::json(cf_neighbor_overlap(res.codes, in.cf, L)) : nlohmann::json(nullptr);
  st["table4_overlap_argmin"] = in.cf.defined() ? nlohmann::json(cf_neighbor_overlap(res.argmin_codes, in.cf, L))
                                                : nlohmann::json(nullptr);
  st["wall_seconds"] = total.seconds();
  if (!env.out.empty()) {
    write_codes(env.out, res.codes, env);
    const std::string title = "Level-1 code frequency, sorted (" + e.method +
                              (env.title.empty() ? "" : ", " + env.title) + ")";
    write_text_atomic(join(env.out, "code_freq.svg"),
                      code_frequency_svg(res.codes.select(1, 0).contiguous(), K, title));
    st["outputs"] = {"codes.json", "codes.npy", "tokenizer.pt", "stats.json", "code_freq.svg"};
    write_json_atomic(join(env.out, "stats.json"), st);
  }
  res.stats = st;
  return res;
}

}  // namespace letter::quant
