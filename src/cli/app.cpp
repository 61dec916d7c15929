#include "app.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/common/torch_compat.h"
#include "letter/version.h"

namespace letter::cli {

namespace {
std::ostream* g_out = &std::cout;
std::string g_created_out;  // the --out folder this run created, if any
int g_lock_fd = -1;         // open RUN_DIR/.lock holding this run's flock

// Two runs writing one --out folder would interleave their artifacts: the first holds an
// exclusive flock on RUN_DIR/.lock until it ends (the kernel drops it if the process dies).
void lock_out_dir(const std::string& dir) {
  const std::string path = join(dir, ".lock");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  LETTER_CHECK(fd >= 0, "cannot open ", path, ": ", std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw UsageError(detail::concat("another letter run is writing ", dir,
                                    " (it holds ", path, "); wait for it to end or choose another --out"));
  }
  g_lock_fd = fd;
}

void unlock_out_dir() {
  if (g_lock_fd >= 0) ::close(g_lock_fd);
  g_lock_fd = -1;
}
}

std::ostream& out_stream() { return *g_out; }

void add_common_options(CLI::App* sub, CommonOptions& c) {
  sub->add_option("--config", c.config, "Experiment config (JSON); defaults when omitted")
      ->type_name("FILE");
  sub->add_option("--set", c.sets,
                  "Override a config value, e.g. --set tokenizer.alpha=0.05 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  sub->add_option("--out", c.out, "Run directory for artifacts (created if missing)")
      ->type_name("RUN_DIR");
  sub->add_option("--device", c.device, "auto | cpu | cuda | cuda:N (default: config, auto)")
      ->type_name("DEVICE");
  sub->add_option("--threads", c.threads, "CPU threads (default: all cores)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));
  sub->add_option("--seed", c.seed, "Random seed (default: config, 42)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{0}, int64_t{9000000000000000000LL}));
  sub->add_flag("-q,--quiet", c.quiet, "Only warnings and errors");
  sub->add_flag("--verbose", c.verbose, "Debug logging");
  sub->add_flag("--resume", c.resume, "Continue from the last checkpoint in RUN_DIR");
}

void Shortcuts::add(CLI::App* sub, const std::string& flag, const std::string& key, const std::string& help,
                    const std::string& type) {
  auto value = std::make_shared<std::string>();
  sub->add_option(flag, *value, help + " (= " + key + ")")->type_name(type);
  values_.emplace_back(key, value);
}

std::vector<std::string> Shortcuts::sets() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : values_)
    if (!value->empty()) out.push_back(key + "=" + *value);
  return out;
}

RunEnv run_env(const RunContext& ctx) {
  RunEnv env;
  env.device = ctx.device;
  env.seed = static_cast<uint64_t>(ctx.config.seed);
  env.out = ctx.out;
  env.resume = ctx.resume;
  env.config = ctx.config.to_json();
  return env;
}

RunContext make_context(const CommonOptions& c, const std::vector<std::string>& extra_sets,
                        bool write_config, bool presets) {
  setup_logging(c.quiet, c.verbose);
  RunContext ctx;
  ctx.config = c.config.empty() ? Config{} : Config::load(c.config);
  for (const auto& s : extra_sets) ctx.config.set(s);
  for (const auto& s : c.sets) ctx.config.set(s);
  if (presets) {
    // Keys given explicitly (shortcuts, --set) keep their value under a preset.
    std::vector<std::string> sets = extra_sets;
    sets.insert(sets.end(), c.sets.begin(), c.sets.end());
    ctx.config.apply_presets(sets);
  }
  if (!c.device.empty()) ctx.config.device = c.device;
  if (c.threads >= 0) ctx.config.threads = c.threads;
  if (c.seed >= 0) ctx.config.seed = c.seed;
  ctx.config.validate();
  ctx.device = resolve_device(ctx.config.device);
  ctx.threads = set_threads(ctx.config.threads);
  seed_everything(static_cast<uint64_t>(ctx.config.seed));
  ctx.out = c.out;
  ctx.resume = c.resume;
  ctx.quiet = c.quiet;
  LETTER_USAGE_CHECK(!c.resume || !c.out.empty(), "--resume needs --out RUN_DIR (the run to continue)");
  if (!ctx.out.empty() && write_config) {
    if (!path_exists(ctx.out)) g_created_out = ctx.out;
    ensure_dir(ctx.out);
    lock_out_dir(ctx.out);
    write_json_atomic(join(ctx.out, "config.json"), ctx.config.to_json());
  }
  spdlog::debug("device={} threads={} openmp_waiting={} seed={} torch={}", ctx.device.str(), ctx.threads,
                openmp_waiting(), ctx.config.seed, compat::torch_version());
  return ctx;
}

void build_app(CLI::App& app, CommonOptions& common) {
  app.description(
      "letter: learnable item tokenization (LETTER / TIGER) and generative recommendation.\n"
      "Pipeline: embed -> train-cf -> train-tokenizer -> train-recommender -> evaluate / "
      "recommend.\nEvery subcommand takes --config, --set, --out, --device, --threads, --seed, "
      "--quiet, --resume.");
  app.name("letter");
  app.set_version_flag("-V,--version",
                       std::string("letter ") + LETTER_VERSION + " (LibTorch " +
                           compat::torch_version() + ")");
  app.require_subcommand(1);
  app.fallthrough(false);
  register_data(app, common);
  register_config(app, common);
  register_embed(app, common);
  register_train_cf(app, common);
  register_train_recommender(app, common);
  register_evaluate(app, common);
  register_recommend(app, common);
  register_train_tokenizer(app, common);
}

int run_app(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

namespace {
// A run that fails leaves no folder it created holding only its config.json behind.
void remove_created_out() {
  if (g_created_out.empty()) return;
  std::error_code ec;
  const std::filesystem::path dir(g_created_out);
  g_created_out.clear();
  if (!std::filesystem::is_directory(dir, ec)) return;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().filename() != "config.json" && e.path().filename() != ".lock") return;
  std::filesystem::remove_all(dir, ec);
}
}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const int rc = run_app(args, out, err);
  unlock_out_dir();
  if (rc != 0) remove_created_out();
  g_created_out.clear();
  return rc;
}

int run_app(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  g_out = &out;
  CLI::App app;
  CommonOptions common;
  build_app(app, common);

  std::vector<std::string> rev(args.rbegin(), args.rend() - 1);  // CLI11 wants reversed, no argv[0]
  try {
    app.parse(rev);
    return 0;
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion&) {
    out << app.version() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    // A subcommand's --help raises CallForHelp above; everything else is a usage error.
    std::string msg = e.what();
    err << "error: " << msg << "\n";
    err << "run 'letter --help' or 'letter <command> --help' for usage\n";
    return 2;
  } catch (const UsageError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    err << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace letter::cli
