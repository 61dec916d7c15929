// Tests for the command-line parser and the shared options (in-process through cli::run):
// exit codes, help, bad flags and values, duplicate flags, config overrides, and that
// unfinished subcommands refuse to produce results.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "cli/app.h"
#include "letter/common/fs.h"
#include "test_util.h"

using namespace letter;
using test::run_cli;

TEST(Cli, HelpAndVersion) {
  auto r = run_cli({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* sub : {"embed", "train-tokenizer", "train-recommender", "evaluate",
                          "recommend", "data"})
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
  r = run_cli({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("letter 0."), std::string::npos) << r.out;
  r = run_cli({"data", "stats", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--threads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--set"), std::string::npos) << r.out;
}

TEST(Cli, UsageErrorsExitTwo) {
  auto r = run_cli({});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(run_cli({"frobnicate"}).code, 2);
  EXPECT_EQ(run_cli({"data", "stats", "--no-such-flag"}).code, 2);
  EXPECT_EQ(run_cli({"data", "stats", "--threads", "many"}).code, 2);
  EXPECT_EQ(run_cli({"data", "stats", "--threads", "-3"}).code, 2);
  // A flag given twice is ambiguous: refuse rather than silently take one.
  EXPECT_EQ(run_cli({"data", "stats", test::tiny_dir(), "--seed", "1", "--seed", "2"}).code, 2);
  r = run_cli({"data", "stats", test::tiny_dir(), "--set", "data.kcoer=3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("did you mean 'data.kcore'"), std::string::npos) << r.err;
  r = run_cli({"data", "stats", test::tiny_dir(), "--set", "data.max_history=0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("data.max_history = 0 is out of range"), std::string::npos) << r.err;
  r = run_cli({"data", "stats", test::tiny_dir(), "--device", "gpu"});
  EXPECT_EQ(r.code, 2);
  r = run_cli({"data", "convert", test::tiny_dir()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

TEST(Cli, RuntimeErrorsExitOne) {
  auto r = run_cli({"data", "stats", "/nonexistent/data"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: dataset not found: /nonexistent/data\n");
  test::TempDir dir;
  std::string cfg = dir.file("c.json", "{\"data\": {\"path\": 5}}");
  r = run_cli({"data", "stats", "--config", cfg});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("c.json: data.path: expected a string"), std::string::npos) << r.err;
}

TEST(Cli, HelpListsEverySubcommand) {
  // The registered subcommands themselves (the app's description also names them, so
  // searching the help text alone would pass without them).
  CLI::App app;
  cli::CommonOptions common;
  cli::build_app(app, common);
  auto names = [](CLI::App* a) {
    std::set<std::string> out;
    for (CLI::App* s : a->get_subcommands([](CLI::App*) { return true; })) out.insert(s->get_name());
    return out;
  };
  const std::set<std::string> expected = {"config", "data", "embed", "evaluate", "recommend", "train-cf",
                                          "train-recommender", "train-tokenizer"};
  EXPECT_EQ(names(&app), expected);
  EXPECT_EQ(names(app.get_subcommand("data")), (std::set<std::string>{"convert", "import-codes", "stats"}));
  auto r = run_cli({"--help"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string listed = r.out.substr(r.out.find("Subcommands:"));
  for (const auto& sub : expected) {
    EXPECT_NE(listed.find("\n  " + sub + " "), std::string::npos) << sub << " not in\n" << listed;
    auto h = run_cli({sub, "--help"});  // every subcommand answers its own --help
    EXPECT_EQ(h.code, 0) << sub;
    EXPECT_NE(h.out.find(sub), std::string::npos) << sub;
  }
}

TEST(Cli, DataStatsJsonAndRunDir) {
  test::TempDir dir;
  auto r = run_cli({"data", "stats", test::tiny_dir(), "--json", "--quiet", "--out", dir.path("run"),
                    "--seed", "9", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["users"], 600);
  EXPECT_EQ(j["items"], 407);
  EXPECT_EQ(j["split"]["train"], 4137);
  // The resolved config is written beside the artifacts, flags included.
  auto cfg = read_json_file(dir.path("run/config.json"));
  EXPECT_EQ(cfg["seed"], 9);
  EXPECT_EQ(cfg["threads"], 1);
  EXPECT_EQ(cfg["data"]["path"], test::tiny_dir());
  EXPECT_TRUE(path_exists(dir.path("run/data_stats.json")));
  torch::set_num_threads(2);
}

TEST(Cli, ConfigFileThenSetThenFlags) {
  test::TempDir dir;
  std::string cfg = dir.file("c.json", R"({"seed": 5, "tokenizer": {"alpha": 0.5, "beta": 0.2}})");
  auto r = run_cli({"config", "--config", cfg, "--set", "tokenizer.alpha=0.1", "--seed", "11", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["tokenizer"]["alpha"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(j["tokenizer"]["beta"].get<double>(), 0.2);
  EXPECT_EQ(j["seed"], 11);
  r = run_cli({"config", "--list"});
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("tokenizer.alpha"), std::string::npos);
}

TEST(Cli, ConvertWritesLetterFormat) {
  test::TempDir dir;
  auto r = run_cli({"data", "convert", test::tiny_dir() + "/tiny.csv", "--out", dir.path("conv"), "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(path_exists(dir.path("conv/tiny.inter.json")));
  EXPECT_TRUE(path_exists(dir.path("conv/tiny.item2id")));
  r = run_cli({"data", "stats", dir.path("conv"), "--json", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["interactions"], 5937);
}

TEST(Cli, PresetsResolveInTheConfigAndSetWins) {
  // recommender.preset=quick replaces the config file's schedule; --set keeps its value.
  auto r = run_cli({"config", "--config", std::string(LETTER_SOURCE_DIR) + "/configs/beauty.json", "--set",
                    "recommender.preset=quick", "--set", "recommender.lr=0.001", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out)["recommender"];
  EXPECT_EQ(j["preset"], "quick");
  EXPECT_EQ(j["arch"], "decoder");
  EXPECT_EQ(j["epochs"], 25);
  EXPECT_EQ(j["batch_size"], 256);
  EXPECT_EQ(j["lr"], 0.001);
  EXPECT_EQ(j["d_model"], 128);  // sizes stay the config's
  r = run_cli({"config", "--set", "recommender.preset=paper", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out)["recommender"];
  EXPECT_EQ(j["arch"], "t5");
  EXPECT_EQ(j["batch_size"], 1024);
  EXPECT_EQ(j["epochs"], 200);
  r = run_cli({"config", "--set", "recommender.preset=fast", "--quiet"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("did you mean"), std::string::npos) << r.err;
  // The tokenizer's preset through the same mechanism.
  r = run_cli({"config", "--set", "tokenizer.preset=quick", "--set", "tokenizer.method=tiger", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out)["tokenizer"];
  EXPECT_EQ(j["epochs"], 800);
  EXPECT_EQ(j["schedule"], "cosine");
}
