// Tests for the common module: config reflection (strict JSON, --set, validation, nearest
// key suggestions), atomic writes and seeds.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include "letter/common/bench.h"
#include "letter/common/checkpoint.h"
#include "letter/common/options.h"
#include "letter/common/svg.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/common/schedule.h"
#include "letter/common/torch_compat.h"
#include "test_util.h"

using namespace letter;
using nlohmann::json;

TEST(Config, DefaultsMatchPaperSettings) {
  Config c;
  // algorithms.md b.1-b.7, c.1-c.4.
  EXPECT_EQ(c.seed, 42);
  EXPECT_EQ(c.data.max_history, 20);
  EXPECT_EQ(c.data.kcore, 5);
  EXPECT_EQ(c.tokenizer.levels, 4);
  EXPECT_EQ(c.tokenizer.codebook_size, 256);
  EXPECT_EQ(c.tokenizer.e_dim, 32);
  EXPECT_DOUBLE_EQ(c.tokenizer.mu, 0.25);
  EXPECT_DOUBLE_EQ(c.tokenizer.alpha, 0.02);
  EXPECT_DOUBLE_EQ(c.tokenizer.beta, 1e-4);
  EXPECT_EQ(c.tokenizer.sk_epsilons, (std::vector<double>{0, 0, 0, 0.003}));
  EXPECT_EQ(c.recommender.d_model, 128);
  EXPECT_EQ(c.recommender.heads, 6);
  EXPECT_EQ(c.recommender.d_ff, 1024);
  EXPECT_DOUBLE_EQ(c.recommender.tau, 0.7);
  EXPECT_NO_THROW(c.validate());
}

TEST(Config, RoundTripsThroughJson) {
  Config c;
  c.tokenizer.alpha = 0.5;
  c.data.path = "x/y";
  c.eval.ks = {3, 7};
  json j = c.to_json();
  Config d = Config::from_json(j);
  EXPECT_EQ(d.to_json(), j);
  EXPECT_DOUBLE_EQ(d.tokenizer.alpha, 0.5);
  EXPECT_EQ(d.eval.ks, (std::vector<int64_t>{3, 7}));
}

TEST(Config, PartialJsonKeepsDefaults) {
  Config c = Config::from_json(json::parse(R"({"data": {"kcore": 3}})"));
  EXPECT_EQ(c.data.kcore, 3);
  EXPECT_EQ(c.data.max_history, 20);
}

TEST(Config, UnknownKeyNamesNearest) {
  try {
    Config::from_json(json::parse(R"({"tokenizer": {"alfa": 0.1}})"), "my.json");
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("my.json"), std::string::npos) << m;
    EXPECT_NE(m.find("tokenizer.alfa"), std::string::npos) << m;
    EXPECT_NE(m.find("tokenizer.alpha"), std::string::npos) << m;
  }
  try {
    Config::from_json(json::parse(R"({"tokeniser": {}})"));
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'tokenizer'"), std::string::npos) << e.what();
  }
}

TEST(Config, WrongTypesAreErrors) {
  EXPECT_THROW(Config::from_json(json::parse(R"({"data": {"kcore": "five"}})")), UsageError);
  EXPECT_THROW(Config::from_json(json::parse(R"({"data": {"kcore": 2.5}})")), UsageError);
  EXPECT_THROW(Config::from_json(json::parse(R"({"eval": {"ks": 5}})")), UsageError);
  EXPECT_THROW(Config::from_json(json::parse(R"({"tokenizer": {"bn": 1}})")), UsageError);
  EXPECT_THROW(Config::from_json(json::parse(R"({"data": 3})")), UsageError);
  EXPECT_THROW(Config::from_json(json::parse(R"([1, 2])")), UsageError);
  // An integral float is accepted for an integer field.
  EXPECT_EQ(Config::from_json(json::parse(R"({"data": {"kcore": 4.0}})")).data.kcore, 4);
}

TEST(Config, OutOfRangeValuesNameKeyAndRange) {
  Config c;
  c.tokenizer.levels = 0;
  try {
    c.validate();
    FAIL();
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("tokenizer.levels"), std::string::npos) << m;
    EXPECT_NE(m.find("[1, 16]"), std::string::npos) << m;
  }
  Config d;
  try {
    d.set("recommender.softmax=levle");  // modes are parsed (and checked) at the boundary
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'level'"), std::string::npos) << e.what();
  }
  Config e;
  e.tokenizer.levels = 3;  // sk_epsilons still has 4 entries
  EXPECT_THROW(e.validate(), UsageError);
  Config f;
  f.cf.hidden = 30;
  f.cf.heads = 4;
  EXPECT_THROW(f.validate(), UsageError);
  Config g;
  g.eval.ks = {};
  EXPECT_THROW(g.validate(), UsageError);
}

TEST(Config, SetParsesByFieldType) {
  Config c;
  c.set("tokenizer.alpha=0.05");
  c.set("data.kcore=0");
  c.set("tokenizer.bn=true");
  c.set("data.path=some/dir=with=equals");
  c.set("eval.ks=1,2,3");
  c.set("tokenizer.layers=[512,256]");
  c.set("embed.fields=title,brand");
  c.set("seed=7");
  EXPECT_DOUBLE_EQ(c.tokenizer.alpha, 0.05);
  EXPECT_EQ(c.data.kcore, 0);
  EXPECT_TRUE(c.tokenizer.bn);
  EXPECT_EQ(c.data.path, "some/dir=with=equals");
  EXPECT_EQ(c.eval.ks, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(c.tokenizer.layers, (std::vector<int64_t>{512, 256}));
  EXPECT_EQ(c.embed.fields, (std::vector<std::string>{"title", "brand"}));
  EXPECT_EQ(c.seed, 7);
}

TEST(Config, SetErrors) {
  Config c;
  EXPECT_THROW(c.set("tokenizer.alpha"), UsageError);
  EXPECT_THROW(c.set("tokenizer.alpha=abc"), UsageError);
  EXPECT_THROW(c.set("data.kcore=1.5"), UsageError);
  EXPECT_THROW(c.set("tokenizer.bn=maybe"), UsageError);
  EXPECT_THROW(c.set("tokenizer=3"), UsageError);
  try {
    c.set("recommender.tua=0.5");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("recommender.tau"), std::string::npos) << e.what();
  }
}

TEST(Config, LoadReportsMalformedAndMissingFiles) {
  test::TempDir dir;
  std::string bad = dir.file("bad.json", "{\"data\": {\"kcore\": 5,}");
  try {
    Config::load(bad);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos);
  }
  EXPECT_THROW(Config::load(dir.path("missing.json")), Error);
}

TEST(Config, ShippedConfigsAreValid) {
  for (const char* name : {"tiny.json", "beauty.json", "instruments.json"}) {
    std::string path = std::string(LETTER_SOURCE_DIR) + "/configs/" + name;
    Config c = Config::load(path);
    EXPECT_NO_THROW(c.validate()) << name;
  }
}

TEST(Config, DescribeListsEveryField) {
  auto docs = Config::describe();
  json j = Config{}.to_json();
  size_t leaves = 0;
  for (auto& [k, v] : j.items()) leaves += v.is_object() ? v.size() : 1;
  EXPECT_EQ(docs.size(), leaves);
  for (const auto& d : docs) EXPECT_FALSE(d.doc.empty()) << d.path;
}

TEST(Nearest, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(nearest("alfa", {"beta", "alpha", "mu"}), "alpha");
}

TEST(Fs, AtomicWriteLeavesNothingOnFailure) {
  test::TempDir dir;
  std::string target = dir.path("out.txt");
  EXPECT_THROW(write_atomic(target, [](std::ofstream& out) {
    out << "partial";
    throw Error("boom");
  }), Error);
  EXPECT_FALSE(path_exists(target));
  for (const auto& e : std::filesystem::directory_iterator(dir.root)) FAIL() << "left " << e.path();
  write_text_atomic(target, "hello");
  EXPECT_EQ(read_text_file(target), "hello");
  // Overwrite keeps the old file until the new one is complete.
  EXPECT_THROW(write_atomic(target, [](std::ofstream&) { throw Error("boom"); }), Error);
  EXPECT_EQ(read_text_file(target), "hello");
}

TEST(Runtime, DerivedSeedsDifferAndRepeat) {
  EXPECT_EQ(derive_seed(42, "shuffle"), derive_seed(42, "shuffle"));
  EXPECT_NE(derive_seed(42, "shuffle"), derive_seed(42, "init"));
  EXPECT_NE(derive_seed(42, "shuffle"), derive_seed(43, "shuffle"));
}

TEST(Runtime, DeviceResolution) {
  EXPECT_EQ(resolve_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_THROW(resolve_device("tpu"), UsageError);
  EXPECT_THROW(resolve_device("cuda:x"), UsageError);
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(resolve_device("auto"), torch::Device(torch::kCPU));
    EXPECT_THROW(resolve_device("cuda"), UsageError);
  }
}

namespace {

// Runs a shell command; its exit status and stdout+stderr (the command redirects).
std::pair<int, std::string> shell(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed: " + cmd};
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  return {pclose(p), out};
}

}  // namespace

TEST(Runtime, CliLimitsOpenMpSpinningUnlessTheUserChose) {
  // A compute subcommand re-executes the binary once with GOMP_SPINCOUNT=20000
  // (limit_openmp_spinning); its debug line says what is in effect. (train-tokenizer fails
  // here, after that line: no embeddings.)
  const std::string clean_env = "env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY ";
  auto waiting = [&](const std::string& env) {
    auto [status, out] = shell(clean_env + env + " '" LETTER_BINARY "' train-tokenizer --verbose --out /nonexistent/run 2>&1");
    EXPECT_NE(status, -1);
    const auto at = out.find("openmp_waiting=");
    return at == std::string::npos ? out : out.substr(at, out.find(' ', at) - at);
  };
  EXPECT_EQ(waiting(""), "openmp_waiting=GOMP_SPINCOUNT=20000");
  EXPECT_EQ(waiting("GOMP_SPINCOUNT=7"), "openmp_waiting=GOMP_SPINCOUNT=7");
  EXPECT_EQ(waiting("OMP_WAIT_POLICY=ACTIVE"), "openmp_waiting=OMP_WAIT_POLICY=ACTIVE");
  // Cheap subcommands start once: no re-execution, libgomp's defaults.
  auto [status, out] = shell(clean_env + "'" LETTER_BINARY "' config --verbose 2>&1");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("openmp_waiting=default"), std::string::npos) << out;
}

TEST(Runtime, ReExecutionUsesTheProgramsOwnPath) {
  // limit_openmp_spinning re-executes executable_path(): the real file, so that the process
  // keeps its name ("letter", not "exe") in ps, top and pkill.
  const std::string self = executable_path();
  EXPECT_EQ(std::filesystem::path(self).filename(), "letter_tests") << self;
  EXPECT_TRUE(std::filesystem::equivalent(self, "/proc/self/exe")) << self;
}

TEST(Bench, ArgumentsTakeDefaultsOverridesHelpAndErrors) {
  const std::map<std::string, std::string> defaults = {{"--epochs", "4"}, {"--case", "all"}};
  auto parse = [&](std::vector<std::string> words, std::vector<std::string>* pos = nullptr) {
    words.insert(words.begin(), "bench");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    return parse_bench_args(static_cast<int>(argv.size()), argv.data(), defaults, "usage: bench\n", pos);
  };
  auto a = parse({"--case", "b"});
  EXPECT_EQ(a["--case"], "b");
  EXPECT_EQ(a["--epochs"], "4");
  std::vector<std::string> pos;
  EXPECT_EQ(parse({"DIR", "--epochs", "2"}, &pos)["--epochs"], "2");
  EXPECT_EQ(pos, std::vector<std::string>{"DIR"});
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(parse({"--help"}), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(parse({"--bogus", "1"}), ::testing::ExitedWithCode(2), "unknown option --bogus");
  EXPECT_EXIT(parse({"--epochs"}), ::testing::ExitedWithCode(2), "missing value after --epochs");
  EXPECT_EXIT(parse({"DIR"}), ::testing::ExitedWithCode(2), "unexpected argument 'DIR'");
}

TEST(Runtime, ThreadsDefaultToAllCores) {
  int64_t n = set_threads(0);
  EXPECT_GE(n, 1);
  EXPECT_EQ(torch::get_num_threads(), n);
  EXPECT_EQ(set_threads(1), 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  set_threads(0);
}

TEST(Checkpoint, RoundTripRestoresModelOptimizerAndRng) {
  test::TempDir dir;
  torch::manual_seed(3);
  torch::nn::Linear a(4, 3);
  torch::optim::AdamW opt(a->parameters(), torch::optim::AdamWOptions(0.1));
  auto loss = a(torch::randn({5, 4})).pow(2).sum();
  loss.backward();
  opt.step();
  CheckpointHeader h{"letter.test", 2, {{"x", 1}}, {{"epoch", 7}}};
  save_checkpoint(dir.path("m.pt"), *a, &opt, h);
  auto expected_next = torch::rand({3});

  torch::manual_seed(99);
  torch::nn::Linear b(4, 3);
  torch::optim::AdamW opt_b(b->parameters(), torch::optim::AdamWOptions(0.1));
  auto got = load_checkpoint(dir.path("m.pt"), *b, &opt_b, "letter.test", 2, /*restore_rng=*/true);
  EXPECT_EQ(got.state["epoch"], 7);
  EXPECT_EQ(got.config["x"], 1);
  EXPECT_TRUE(torch::equal(a->weight, b->weight));
  EXPECT_TRUE(torch::equal(torch::rand({3}), expected_next));
  EXPECT_EQ(read_checkpoint_header(dir.path("m.pt")).format, "letter.test");

  torch::nn::Linear c(4, 3);
  EXPECT_THROW(load_checkpoint(dir.path("m.pt"), *c, nullptr, "letter.other", 2), Error);
  EXPECT_THROW(load_checkpoint(dir.path("m.pt"), *c, nullptr, "letter.test", 3), Error);
  torch::nn::Linear wrong(5, 3);
  EXPECT_THROW(load_checkpoint(dir.path("m.pt"), *wrong, nullptr, "letter.test", 2), Error);
  dir.file("junk.pt", "not a checkpoint");
  EXPECT_THROW(read_checkpoint_header(dir.path("junk.pt")), Error);
  EXPECT_THROW(read_checkpoint_header(dir.path("missing.pt")), Error);
}

TEST(Schedule, WarmupThenCosine) {
  EXPECT_DOUBLE_EQ(lr_factor(0, 100, 10, LrSchedule::kCosine), 0.1);
  EXPECT_DOUBLE_EQ(lr_factor(9, 100, 10, LrSchedule::kCosine), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(10, 100, 10, LrSchedule::kCosine), 1.0);
  EXPECT_NEAR(lr_factor(55, 100, 10, LrSchedule::kCosine), 0.5, 1e-12);
  EXPECT_NEAR(lr_factor(100, 100, 10, LrSchedule::kCosine), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(lr_factor(50, 100, 0, LrSchedule::kConstant), 1.0);
}

TEST(Compat, AutocastRunsProductsInBfloat16AndRestores) {
  auto a = torch::randn({8, 16}), b = torch::randn({16, 4});
  const torch::Device cpu(torch::kCPU);
  {
    compat::Autocast off(cpu, false);
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32);
  }
  {
    compat::Autocast on(cpu, true);
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    {
      compat::Autocast nested(cpu, true);
      EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16) << "the inner scope must not end the outer one";
    // bfloat16 keeps 8 significant bits (relative rounding 2^-9). Inputs, output and, on
    // CPUs without AMX, each of the 16 partial sums may be rounded, so the error is bounded
    // by (|a| |b|) 16 x 2^-9 = (|a| |b|) / 32, whatever the random draw.
    const auto exact = torch::mm(a.to(torch::kFloat64), b.to(torch::kFloat64));
    const auto err = (torch::mm(a, b).to(torch::kFloat64) - exact).abs();
    const auto bound = torch::mm(a.abs().to(torch::kFloat64), b.abs().to(torch::kFloat64)) / 32.0;
    EXPECT_TRUE(err.le(bound).all().item<bool>()) << (err - bound).max();
  }
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat32) << "autocast must end with its scope";
  EXPECT_TRUE(compat::fast_bf16(torch::Device(torch::kCUDA, 0)));
}

TEST(Svg, LineChartHasOneLinePerSeriesLegendAndWholeEpochTicks) {
  svg::Series a{"valid Recall@10", {1, 2}, {0.1, 0.2}}, b{"valid <NDCG>@10", {1, 2}, {0.05, 0.07}};
  const std::string s = svg::line_chart("Validation curve", "2 epochs", "epoch", "metric", {a, b});
  EXPECT_NE(s.find("<svg"), std::string::npos);
  size_t lines = 0;
  for (size_t p = s.find("<polyline"); p != std::string::npos; p = s.find("<polyline", p + 1)) ++lines;
  EXPECT_EQ(lines, 2u);
  EXPECT_NE(s.find("valid Recall@10"), std::string::npos);
  EXPECT_NE(s.find("valid &lt;NDCG&gt;@10"), std::string::npos);  // escaped
  EXPECT_EQ(s.find(">1.5<"), std::string::npos) << "epochs get whole-number ticks";
  EXPECT_NE(s.find(">2<"), std::string::npos);
  EXPECT_NE(s.find(">0.20<"), std::string::npos) << s;  // y ticks 0.00, 0.05, ..., 0.20
}
