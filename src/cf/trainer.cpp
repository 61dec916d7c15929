#include "letter/cf/trainer.h"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "letter/cf/linear_ce.h"
#include "letter/common/checkpoint.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/common/reflect.h"
#include "letter/io/npy.h"

namespace letter {

namespace {

constexpr const char* kModelFormat = "letter.sasrec";
constexpr const char* kTrainFormat = "letter.sasrec.train";
constexpr int64_t kVersion = 1;
constexpr const char* kBestFile = "sasrec.pt";
constexpr const char* kLastFile = "sasrec.last.pt";

/// Windows per length-sorted pool: batches hold windows of similar length (less padding)
/// while the pool order stays random.
constexpr int64_t kPoolBatches = 64;

/// This epoch's window order and batch boundaries: a random permutation (default
/// generator), sorted by length inside pools of kPoolBatches batches, cut into batches whose
/// order is shuffled again.
void epoch_order(const std::vector<CfWindow>& windows, int64_t batch_size,
                 std::vector<int64_t>& order, std::vector<std::pair<int64_t, int64_t>>& batches) {
  const int64_t W = static_cast<int64_t>(windows.size());
  auto perm = torch::randperm(W, torch::kInt64);
  order.assign(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + W);
  const int64_t pool = batch_size * kPoolBatches;
  for (int64_t p = 0; p < W; p += pool) {
    auto end = order.begin() + std::min(W, p + pool);
    std::stable_sort(order.begin() + p, end,
                     [&](int64_t a, int64_t b) { return windows[a].len < windows[b].len; });
  }
  std::vector<std::pair<int64_t, int64_t>> cut;
  for (int64_t p = 0; p < W; p += batch_size) cut.emplace_back(p, std::min(batch_size, W - p));
  auto bperm = torch::randperm(static_cast<int64_t>(cut.size()), torch::kInt64);
  batches.clear();
  for (int64_t i = 0; i < bperm.size(0); ++i) batches.push_back(cut[bperm[i].item<int64_t>()]);
}

nlohmann::json stats_json(const CfEpochStats& s) {
  nlohmann::json j = {{"epoch", s.epoch},
                      {"loss", s.loss},
                      {"seconds", s.seconds},
                      {"positions_per_s", s.positions_per_s}};
  if (s.valid_ndcg10 >= 0) j["valid_ndcg@10"] = s.valid_ndcg10;
  return j;
}

CfEpochStats stats_from_json(const nlohmann::json& j) {
  CfEpochStats s;
  s.epoch = j.at("epoch").get<int64_t>();
  s.loss = j.at("loss").get<double>();
  s.seconds = j.at("seconds").get<double>();
  s.positions_per_s = j.at("positions_per_s").get<double>();
  s.valid_ndcg10 = j.value("valid_ndcg@10", -1.0);
  return s;
}

}  // namespace

std::vector<CfWindow> make_cf_windows(const Split& split, int64_t max_len) {
  LETTER_USAGE_CHECK(max_len >= 1, "cf.max_len must be >= 1, got ", max_len);
  std::vector<CfWindow> out;
  const auto& tr = split.train;
  size_t i = 0;
  while (i < tr.size()) {
    const int32_t user = tr[i].user;
    const int32_t first = tr[i].pos;
    int32_t last = first;
    size_t j = i + 1;
    for (; j < tr.size() && tr[j].user == user; ++j) {
      LETTER_CHECK(tr[j].pos == last + 1, "train samples of user ", user,
                   " are not consecutive positions (", last, " then ", tr[j].pos, ")");
      last = tr[j].pos;
    }
    LETTER_CHECK(first >= 1, "train sample of user ", user, " at position ", first,
                 " has no history");
    const size_t start = out.size();
    for (int64_t end_t = last; end_t >= first;) {
      const int64_t start_t = std::max<int64_t>(first, end_t - max_len + 1);
      out.push_back({user, static_cast<int32_t>(start_t - 1), static_cast<int32_t>(end_t - start_t + 2)});
      end_t = start_t - 1;
    }
    std::reverse(out.begin() + start, out.end());  // chronological per user
    i = j;
  }
  return out;
}

CfBatch make_cf_batch(const Dataset& ds, const std::vector<CfWindow>& windows,
                      const std::vector<int64_t>& order, int64_t first, int64_t count) {
  LETTER_CHECK(first >= 0 && count >= 1 && first + count <= static_cast<int64_t>(order.size()),
               "batch [", first, ", ", first + count, ") outside ", order.size(), " windows");
  int64_t T = 1;
  for (int64_t b = 0; b < count; ++b) T = std::max<int64_t>(T, windows[order[first + b]].len - 1);
  CfBatch out;
  out.inputs = torch::zeros({count, T}, torch::kInt64);
  auto in = out.inputs.accessor<int64_t, 2>();
  std::vector<int64_t> idx, tgt;
  for (int64_t b = 0; b < count; ++b) {
    const CfWindow& w = windows[order[first + b]];
    const auto& seq = ds.sequences[w.user];
    LETTER_CHECK(w.len >= 2 && w.begin >= 0 && w.begin + w.len <= static_cast<int64_t>(seq.size()),
                 "window of user ", w.user, " [", w.begin, ", ", w.begin + w.len,
                 ") outside its sequence of ", seq.size());
    for (int32_t t = 0; t + 1 < w.len; ++t) {
      in[b][t] = seq[w.begin + t] + 1;
      idx.push_back(b * T + t);
      tgt.push_back(seq[w.begin + t + 1]);
    }
  }
  out.flat_index = torch::tensor(idx, torch::kInt64);
  out.flat_targets = torch::tensor(tgt, torch::kInt64);
  return out;
}

torch::Tensor sample_negatives(const torch::Tensor& targets, int64_t num_items) {
  LETTER_CHECK(num_items >= 2, "cf.loss = bce needs at least 2 items to draw a negative, got ",
               num_items);
  // Uniform over the N - 1 items other than the target: draw from [0, N - 1) and shift the
  // draws at or above the target up by one.
  auto neg = torch::randint(0, num_items - 1, {targets.size(0)}, targets.options());
  return neg + neg.ge(targets).to(torch::kInt64);
}

torch::Tensor cf_loss(CfLoss loss, const torch::Tensor& h, const torch::Tensor& targets,
                      const torch::Tensor& item_vectors) {
  LETTER_CHECK(h.dim() == 2 && targets.dim() == 1 && h.size(0) == targets.size(0) &&
                   item_vectors.dim() == 2 && item_vectors.size(1) == h.size(1),
               "cf_loss: h (P, d) ", h.sizes(), ", targets (P,) ", targets.sizes(),
               ", item vectors (N, d) ", item_vectors.sizes());
  if (loss == CfLoss::kCe) return linear_cross_entropy(h, item_vectors, targets);  // no (P, N) logits
  auto neg = sample_negatives(targets, item_vectors.size(0));
  auto pos_logit = (h * item_vectors.index_select(0, targets)).sum(-1);  // (P,)
  auto neg_logit = (h * item_vectors.index_select(0, neg)).sum(-1);      // (P,)
  return (torch::softplus(-pos_logit) + torch::softplus(neg_logit)).mean();
}

nlohmann::json CfResult::history_json() const {
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& e : history) hist.push_back(stats_json(e));
  return hist;
}

CfResult train_sasrec(const Dataset& ds, const CfOptions& o, const RunEnv& run, const CfValidator& validate) {
  const uint64_t seed = run.seed;
  LETTER_CHECK(ds.num_items() > 0 && ds.num_users() > 0, "train-cf: the dataset is empty");
  validate_options(o);
  LETTER_USAGE_CHECK(!run.resume || !run.out.empty(), "--resume needs --out RUN_DIR");
  Split split = leave_one_out(ds, o.max_len);
  std::vector<CfWindow> windows = make_cf_windows(split, o.max_len);
  LETTER_CHECK(!windows.empty(), "train-cf: no training sequences in ", ds.name,
               ": every user needs at least 4 items (the last two are kept for validation and test)");
  LETTER_CHECK(!split.valid.empty(), "train-cf: no validation samples in ", ds.name);
  int64_t positions = 0;
  for (const auto& w : windows) positions += w.len - 1;

  torch::manual_seed(derive_seed(seed, "cf.init"));
  SasRec model(ds.num_items(), o);
  if (!o.init_items.empty()) {
    auto v = io::read_npy(o.init_items);
    LETTER_CHECK(v.dim() == 2 && v.size(0) == ds.num_items() && v.size(1) == o.hidden,
                 "cf.init_items ", o.init_items, " has shape ", v.sizes(), ", expected (",
                 ds.num_items(), ", ", o.hidden, ") = (items, cf.hidden)");
    model->set_item_vectors(v.to(torch::kFloat32));
  }
  if (o.freeze_items) model->item_emb->weight.set_requires_grad(false);
  model->to(run.device);
  std::vector<torch::Tensor> trainable;
  for (auto& p : model->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  torch::optim::AdamW opt(trainable, torch::optim::AdamWOptions(o.lr)
                                         .betas({0.9, o.beta2})
                                         .eps(1e-8)
                                         .weight_decay(o.weight_decay));

  CfResult res;
  int64_t bad_evals = 0;
  std::vector<torch::Tensor> best;
  const std::string best_path = run.out.empty() ? "" : join(run.out, kBestFile);
  const std::string last_path = run.out.empty() ? "" : join(run.out, kLastFile);
  if (run.resume) {
    LETTER_CHECK(path_exists(last_path), "--resume: no checkpoint ", last_path,
                 " (the run has not finished an epoch yet, or --out names another folder)");
    CheckpointHeader h = read_checkpoint_header(last_path);
    if (h.format == kTrainFormat) {
      nlohmann::json now = {{"seed", seed}, {"cf", options_to_json(o)}};
      if (run.config.contains("data")) now["data"] = run.config["data"];
      check_resume_config(h.config, now, {"cf.epochs", "cf.patience"}, last_path);
    }
    h = load_checkpoint(last_path, *model, &opt, kTrainFormat, kVersion, /*restore_rng=*/true);
    model->to(run.device);
    const auto& st = h.state;
    res.epochs_run = st.at("epoch").get<int64_t>();
    res.best_epoch = st.at("best_epoch").get<int64_t>();
    res.best_valid_ndcg10 = st.at("best_valid_ndcg@10").get<double>();
    res.early_stopped = st.at("early_stopped").get<bool>();
    res.train_seconds = st.at("train_seconds").get<double>();
    bad_evals = st.at("bad_evals").get<int64_t>();
    for (const auto& e : st.at("history")) res.history.push_back(stats_from_json(e));
    if (res.best_epoch > 0) {
      torch::manual_seed(derive_seed(seed, "cf.init"));
      SasRec b(ds.num_items(), o);
      load_checkpoint(best_path, *b, nullptr, kModelFormat, kVersion);
      best = snapshot_parameters(*b);
    }
    spdlog::info("cf resume: {} epochs done, best valid ndcg@10={:.5f} at epoch {}", res.epochs_run,
                 res.best_valid_ndcg10, res.best_epoch);
  }

  spdlog::info("cf train: {} users, {} items, {} windows, {} target positions, loss={} hidden={} "
               "blocks={} heads={} dropout={} max_len={} batch={} lr={} device={}",
               ds.num_users(), ds.num_items(), windows.size(), positions, enum_name(o.loss), o.hidden, o.blocks,
               o.heads, o.dropout, o.max_len, o.batch_size, o.lr, run.device.str());
  std::vector<int64_t> order;
  std::vector<std::pair<int64_t, int64_t>> batches;
  for (int64_t epoch = res.epochs_run + 1; epoch <= o.epochs && !res.early_stopped; ++epoch) {
    Timer timer;
    torch::manual_seed(derive_seed(seed, "cf.epoch." + std::to_string(epoch)));
    epoch_order(windows, o.batch_size, order, batches);
    model->train();
    double loss_sum = 0.0;
    int64_t seen = 0;
    for (const auto& [first, count] : batches) {
      CfBatch b = make_cf_batch(ds, windows, order, first, count);
      auto inputs = b.inputs.to(run.device);
      auto idx = b.flat_index.to(run.device);
      auto targets = b.flat_targets.to(run.device);
      auto h = model->forward(inputs);                            // (B, T, d)
      h = h.reshape({-1, o.hidden}).index_select(0, idx);         // (P, d)
      auto loss = cf_loss(o.loss, h, targets, model->item_vectors());
      opt.zero_grad();
      loss.backward();
      opt.step();
      const double l = loss.item<double>();
      LETTER_CHECK(std::isfinite(l), "train-cf: the training loss became ", l, " at epoch ", epoch,
                   "; lower cf.lr (now ", o.lr, ")",
                   epoch > 1 && !last_path.empty() && path_exists(last_path)
                       ? detail::concat("; the checkpoint of epoch ", epoch - 1, " is kept in ", last_path,
                                        " (continue from it with --resume after changing the setting)")
                       : std::string());
      loss_sum += l * targets.size(0);
      seen += targets.size(0);
    }
    const double train_s = timer.seconds();
    CfEpochStats st;
    st.epoch = epoch;
    st.loss = loss_sum / std::max<int64_t>(1, seen);
    st.positions_per_s = seen / std::max(1e-9, train_s);
    if (epoch % o.eval_every == 0 || epoch == o.epochs) {
      model->eval();
      st.valid_ndcg10 = validate(model);
      if (st.valid_ndcg10 > res.best_valid_ndcg10) {
        res.best_valid_ndcg10 = st.valid_ndcg10;
        res.best_epoch = epoch;
        bad_evals = 0;
        best = snapshot_parameters(*model);
        if (!best_path.empty()) {
          CheckpointHeader h{kModelFormat, kVersion, run.config,
                             {{"epoch", epoch}, {"valid_ndcg@10", st.valid_ndcg10},
                              {"num_items", ds.num_items()}}};
          save_checkpoint(best_path, *model, nullptr, h);
        }
      } else if (++bad_evals >= o.patience) {
        res.early_stopped = true;
      }
    }
    st.seconds = timer.seconds();
    res.train_seconds += st.seconds;
    res.history.push_back(st);
    res.epochs_run = epoch;
    spdlog::info("cf epoch={} loss={:.5f} valid_ndcg@10={} best={:.5f}@{} positions/s={:.0f} "
                 "epoch_s={:.1f} elapsed_s={:.1f}",
                 epoch, st.loss, st.valid_ndcg10 >= 0 ? fmt::format("{:.5f}", st.valid_ndcg10) : "-",
                 res.best_valid_ndcg10, res.best_epoch, st.positions_per_s, st.seconds,
                 res.train_seconds);
    if (!last_path.empty()) {
      CheckpointHeader h{kTrainFormat, kVersion, run.config,
                         {{"epoch", epoch},
                          {"best_epoch", res.best_epoch},
                          {"best_valid_ndcg@10", res.best_valid_ndcg10},
                          {"bad_evals", bad_evals},
                          {"early_stopped", res.early_stopped},
                          {"train_seconds", res.train_seconds},
                          {"history", res.history_json()}}};
      save_checkpoint(last_path, *model, &opt, h);
    }
    if (res.early_stopped)
      spdlog::info("cf early stop at epoch {}: no valid ndcg@10 gain in {} evaluations", epoch,
                   o.patience);
  }

  if (!best.empty()) restore_parameters(*model, best);
  model->eval();
  res.model = model;
  return res;
}

}  // namespace letter
