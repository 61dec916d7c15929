#include "letter/rec/trainer.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include <spdlog/spdlog.h>

#include "letter/common/checkpoint.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/reflect.h"
#include "letter/common/runtime.h"
#include "letter/common/schedule.h"
#include "letter/common/svg.h"
#include "letter/common/torch_compat.h"
#include "letter/rec/data.h"
#include "letter/rec/loss.h"

namespace letter::rec {

nlohmann::json EpochStats::to_json() const {
  nlohmann::json j = {{"epoch", epoch},     {"steps", steps},
                      {"loss", loss},       {"lr", lr},
                      {"seconds", seconds}, {"samples_per_s", samples_per_s},
                      {"gflops", gflops},   {"evaluated", evaluated}};
  if (evaluated) {
    j["valid_recall@10"] = valid_recall10;
    j["valid_ndcg@10"] = valid_ndcg10;
    j["eval_seconds"] = eval_seconds;
    j["improved"] = improved;
  }
  return j;
}

EpochStats EpochStats::from_json(const nlohmann::json& j) {
  EpochStats s;
  s.epoch = j.at("epoch").get<int64_t>();
  s.steps = j.at("steps").get<int64_t>();
  s.loss = j.at("loss").get<double>();
  s.lr = j.at("lr").get<double>();
  s.seconds = j.at("seconds").get<double>();
  s.samples_per_s = j.at("samples_per_s").get<double>();
  s.gflops = j.at("gflops").get<double>();
  s.evaluated = j.at("evaluated").get<bool>();
  if (s.evaluated) {
    s.valid_recall10 = j.at("valid_recall@10").get<double>();
    s.valid_ndcg10 = j.at("valid_ndcg@10").get<double>();
    s.eval_seconds = j.at("eval_seconds").get<double>();
    s.improved = j.at("improved").get<bool>();
  }
  return s;
}

nlohmann::json TrainResult::to_json() const {
  nlohmann::json h = nlohmann::json::array();
  for (const auto& e : history) h.push_back(e.to_json());
  return {{"best_epoch", best_epoch},         {"best_valid_ndcg@10", best_ndcg10},
          {"best_valid", best_valid},         {"stopped_early", stopped_early},
          {"interrupted", interrupted},       {"train_samples", train_samples},
          {"epochs", h}};
}

std::string validation_curve_svg(const std::vector<EpochStats>& history, const RecommenderOptions& ro,
                                 const std::string& dataset) {
  svg::Series recall{"valid Recall@10", {}, {}}, ndcg{"valid NDCG@10", {}, {}};
  double seconds = 0.0;
  for (const auto& e : history) {
    seconds += e.seconds + e.eval_seconds;
    if (!e.evaluated) continue;
    recall.x.push_back(static_cast<double>(e.epoch));
    recall.y.push_back(e.valid_recall10);
    ndcg.x.push_back(static_cast<double>(e.epoch));
    ndcg.y.push_back(e.valid_ndcg10);
  }
  const std::string layers = ro.arch == Arch::kDecoder ? std::to_string(ro.decoder_layers)
                                                       : fmt::format("{}+{}", ro.encoder_layers, ro.decoder_layers);
  const std::string subtitle =
      fmt::format("arch {}, {} layers, d_model {}, lr {}, batch {}, dropout {}; {} epochs, {:.0f} s", enum_name(ro.arch),
                  layers, ro.d_model, ro.lr, ro.batch_size, ro.dropout, history.size(), seconds);
  return svg::line_chart("Validation curve (" + dataset + ")", subtitle, "epoch", "metric", {recall, ndcg});
}

bool bf16_autocast(const RecommenderOptions& ro, const torch::Device& device) {
  return ro.bf16 && compat::fast_bf16(device);
}

TrainResult train_recommender(Recommender& rec, const RecommenderOptions& ro, int64_t max_history, const Dataset& ds,
                              const RunEnv& env, const RecValidator& validate, const TrainHooks& hooks) {
  const uint64_t seed = env.seed;
  const std::string& out_dir = env.out;
  LETTER_CHECK(ds.num_items() == rec.num_items(), "codes cover ", rec.num_items(), " items, dataset ", ds.name,
               " has ", ds.num_items());
  const bool bf16 = bf16_autocast(ro, rec.device);
  const Arch arch = rec.arch();
  // Per-prefix samples (t5) or windows whose targets train in one pass (the others).
  const TrainingSet train(ds, rec.vocab, arch, max_history);
  auto epoch_batches = [&](int64_t epoch) {
    return train.batches(ro.batch_size, derive_seed(seed, "rec.shuffle." + std::to_string(epoch)));
  };
  const int64_t n_train = train.targets();
  LETTER_CHECK(n_train > 0, "dataset ", ds.name, " has no training samples (every user needs at least 4 items)");
  const int64_t per_epoch = static_cast<int64_t>(epoch_batches(1).size());
  const int64_t total_steps = per_epoch * ro.epochs;
  const int64_t warmup = static_cast<int64_t>(std::ceil(ro.warmup_ratio * total_steps));
  torch::Tensor allowed = softmax_mask(rec.vocab, ro.softmax, rec.device);  // (L + 1, V) or undefined
  if (allowed.defined() && arch == Arch::kDecoder) allowed = allowed.narrow(0, 0, rec.vocab.levels());

  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(rec.net->decay_parameters(true),
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(ro.lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(ro.weight_decay)));
  groups.emplace_back(rec.net->decay_parameters(false),
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(ro.lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.0)));
  torch::optim::AdamW opt(std::move(groups), torch::optim::AdamWOptions(ro.lr));
  const auto params = rec.net->parameters();

  TrainResult res;
  res.train_samples = n_train;
  int64_t start_epoch = 1, step = 0, bad = 0;
  bool finished = false;
  std::vector<torch::Tensor> best;
  const std::string last_path = out_dir.empty() ? "" : join(out_dir, "recommender.last.pt");
  // What a diverged run says about its last good state (the checkpoint of the previous
  // epoch is never overwritten by a diverged one).
  const auto kept = [&](int64_t epoch) {
    if (last_path.empty() || epoch <= 1 || !path_exists(last_path)) return std::string();
    return detail::concat("; the checkpoint of epoch ", epoch - 1, " is kept in ", last_path,
                          " (continue from it with --resume after changing the setting)");
  };
  const std::string best_path = out_dir.empty() ? "" : join(out_dir, "recommender.pt");
  const nlohmann::json& config_json = env.config;

  if (env.resume) {
    LETTER_USAGE_CHECK(!out_dir.empty(), "--resume needs --out RUN_DIR");
    LETTER_CHECK(path_exists(last_path), "--resume: ", last_path,
                 " not found (no completed epoch to continue from); run without --resume");
    {
      nlohmann::json now = {{"seed", seed}, {"recommender", options_to_json(ro)}};
      if (env.config.contains("data")) now["data"] = env.config["data"];
      check_resume_config(read_checkpoint_header(last_path).config, now, {}, last_path);
    }
    CheckpointHeader h = load_checkpoint(last_path, *rec.net, &opt, kStateFormat, kFormatVersion, true);
    const auto& s = h.state;
    start_epoch = s.at("epoch").get<int64_t>() + 1;
    step = s.at("step").get<int64_t>();
    bad = s.at("bad_evals").get<int64_t>();
    res.best_epoch = s.at("best_epoch").get<int64_t>();
    res.best_ndcg10 = s.at("best_ndcg10").get<double>();
    res.best_valid = s.value("best_valid", nlohmann::json());
    finished = s.value("finished", false);
    res.stopped_early = s.value("stopped_early", false);
    for (const auto& e : s.at("history")) res.history.push_back(EpochStats::from_json(e));
    if (res.best_epoch > 0) {
      LETTER_CHECK(path_exists(best_path), "--resume: ", best_path, " (best model) is missing");
      Recommender b = Recommender::load(best_path, rec.device);
      best = snapshot_parameters(*b.net);
    }
    spdlog::info("resuming {} after epoch {} (step {}, best valid ndcg@10 {:.4f} at epoch {})", out_dir,
                 start_epoch - 1, step, res.best_ndcg10, res.best_epoch);
  }
  spdlog::info("train-recommender: arch {}, {} train samples{} ({} batches of ~{}), {} epochs, "
               "{} warm-up steps, tau {}, softmax {}, {} parameters, device {}",
               enum_name(arch), n_train,
               all_positions(arch) ? fmt::format(" in {} windows", train.size()) : std::string(),
               per_epoch, ro.batch_size, ro.epochs, warmup, ro.tau, enum_name(ro.softmax),
               std::accumulate(params.begin(), params.end(), int64_t{0},
                               [](int64_t a, const torch::Tensor& p) { return a + p.numel(); }),
               rec.device.str());

  for (int64_t epoch = start_epoch; epoch <= ro.epochs && !finished; ++epoch) {
    torch::manual_seed(derive_seed(seed, "rec.epoch." + std::to_string(epoch)));
    const auto batches = epoch_batches(epoch);
    rec.net->train();
    Progress progress("epoch " + std::to_string(epoch), n_train, "samples");
    Timer timer;
    auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(rec.device));
    double flops = 0.0, lr = 0.0;
    int64_t done = 0;
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      RecBatch b = train.batch(batches[bi]).to(rec.device);
      const int64_t B = b.samples;
      lr = ro.lr * lr_factor(step, total_steps, warmup, LrSchedule::kCosine);
      set_learning_rate(opt, lr);
      torch::Tensor logits, labels;
      {
        compat::Autocast autocast(rec.device, bf16);
        std::tie(logits, labels) = rec.net->training_logits(b);
      }
      auto loss = ranking_loss(logits.to(torch::kFloat32), labels, ro.tau, allowed);
      opt.zero_grad();
      loss.backward();
      if (ro.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, ro.grad_clip);
      opt.step();
      ++step;
      loss_sum += loss.detach().to(torch::kFloat64) * B;
      flops += 3.0 * rec.net->forward_flops(b);
      done += B;
      if (bi % 50 == 49) {
        const double running = loss_sum.item<double>() / done;
        LETTER_CHECK(std::isfinite(running), "training diverged at epoch ", epoch, " step ", step,
                     ": loss is ", running, "; lower recommender.lr or raise recommender.tau", kept(epoch));
        progress.update(B, "loss=" + std::to_string(running));
      } else {
        progress.update(B);
      }
    }
    EpochStats st;
    st.epoch = epoch;
    st.steps = step;
    st.loss = loss_sum.item<double>() / n_train;
    LETTER_CHECK(std::isfinite(st.loss), "training diverged at epoch ", epoch, " step ", step, ": loss is ",
                 st.loss, "; lower recommender.lr or raise recommender.tau", kept(epoch));
    st.lr = lr;
    st.seconds = timer.seconds();
    st.samples_per_s = n_train / std::max(st.seconds, 1e-9);
    st.gflops = flops / std::max(st.seconds, 1e-9) / 1e9;
    progress.finish("loss=" + std::to_string(st.loss));

    if (epoch % ro.eval_every == 0 || epoch == ro.epochs) {
      rec.net->eval();
      const Validation v = validate(rec);
      rec.net->train();
      const nlohmann::json& m = v.metrics;
      st.evaluated = true;
      st.valid_recall10 = v.recall10;
      st.valid_ndcg10 = v.ndcg10;
      st.eval_seconds = v.seconds;
      if (st.valid_ndcg10 > res.best_ndcg10) {
        st.improved = true;
        res.best_ndcg10 = st.valid_ndcg10;
        res.best_epoch = epoch;
        res.best_valid = m;
        bad = 0;
        best = snapshot_parameters(*rec.net);
        if (!best_path.empty())
          rec.save(best_path, config_json, {{"epoch", epoch}, {"valid", m}, {"dataset", ds.name}});
      } else {
        ++bad;
      }
    }
    res.history.push_back(st);
    if (!out_dir.empty() && st.evaluated)
      write_text_atomic(join(out_dir, "valid_curve.svg"), validation_curve_svg(res.history, ro, ds.name));
    std::string valid_part;
    if (st.evaluated)
      valid_part = fmt::format(" valid_recall@10={:.4f} valid_ndcg@10={:.4f} eval_s={:.1f} best_epoch={}",
                               st.valid_recall10, st.valid_ndcg10, st.eval_seconds, res.best_epoch);
    spdlog::info("epoch={}/{} step={} loss={:.4f} lr={:.3e} samples/s={:.0f} gflop/s={:.2f} train_s={:.1f}{}",
                 epoch, ro.epochs, step, st.loss, st.lr, st.samples_per_s, st.gflops, st.seconds, valid_part);
    res.stopped_early = st.evaluated && bad >= ro.patience && epoch < ro.epochs;
    finished = res.stopped_early || epoch == ro.epochs;
    if (res.stopped_early)
      spdlog::info("early stop: no validation NDCG@10 improvement in {} evaluations; best epoch {}", bad,
                   res.best_epoch);
    if (!last_path.empty()) {
      nlohmann::json hist = nlohmann::json::array();
      for (const auto& e : res.history) hist.push_back(e.to_json());
      CheckpointHeader h;
      h.format = kStateFormat;
      h.version = kFormatVersion;
      h.config = config_json;
      h.state = {{"epoch", epoch},
                 {"step", step},
                 {"bad_evals", bad},
                 {"best_epoch", res.best_epoch},
                 {"best_ndcg10", res.best_ndcg10},
                 {"best_valid", res.best_valid},
                 {"finished", finished},
                 {"stopped_early", res.stopped_early},
                 {"history", hist},
                 {"num_items", rec.vocab.num_items()},
                 {"levels", rec.vocab.levels()}};
      // Same model description as recommender.pt, so Recommender::load reads either file.
      h.state["model"] = model_json(rec.arch(), rec.net->options());
      h.state["softmax"] = enum_name(ro.softmax);
      h.state["beam_scores"] = enum_name(ro.beam_scores);
      save_checkpoint(last_path, *rec.net, &opt, h);
    }
    if (hooks.after_epoch && !hooks.after_epoch(st)) {
      res.interrupted = true;
      return res;
    }
  }
  if (res.best_epoch > 0 && !best.empty()) restore_parameters(*rec.net, best);
  return res;
}

}  // namespace letter::rec
