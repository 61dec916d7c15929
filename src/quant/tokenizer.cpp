// The train-tokenizer stage (see tokenizer.h): one method's run with checkpoints and
// --resume, collision-free codes and the report.
#include "letter/quant/tokenizer.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <limits>

#include "letter/common/checkpoint.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/io/npy.h"
#include "letter/quant/report.h"

namespace letter::quant {

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
  check_inputs(e, in);  // the one check of the inputs (the trainer relies on it)
  const int64_t n = in.embeddings.size(0), L = e.levels, K = e.codebook_size;
  LETTER_USAGE_CHECK(!env.resume || !env.out.empty(), "--resume needs --out RUN_DIR");
  if (!env.out.empty()) ensure_dir(env.out);
  TokenizerRunResult res;
  nlohmann::json st;
  st["method"] = enum_name(e.method);
  st["preset"] = enum_name(e.preset);
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

  if (e.method == TokenizerMethod::kRkmeans) {
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
                 enum_name(e.method), n, in.embeddings.size(1), arch["layers"].dump(), L, K, e.e_dim, e.alpha,
                 e.beta, nlohmann::json(e.sk_epsilons).dump(), e.epochs, e.lr, enum_name(e.schedule),
                 e.warmup_epochs, e.batch_size, enum_name(e.dtype));
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
      return nlohmann::json{{"method", enum_name(e.method)}, {"arch", arch},
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
                       hdr.state.value("method", "") == enum_name(e.method) && hdr.state.value("items", int64_t{-1}) == n,
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
    if (e.codes_from == CodesFrom::kBest && !env.out.empty() && path_exists(best_path)) {
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
                      {"schedule", enum_name(e.schedule)},
                      {"warmup_epochs", e.warmup_epochs},
                      {"best_collision_rate", best},
                      {"best_epoch", best_epoch},
                      {"codes_from", enum_name(e.codes_from)},
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
    const std::string title = "Level-1 code frequency, sorted (" + enum_name(e.method) +
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
