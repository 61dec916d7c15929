// Regression tests for the malformed inputs of issue "Hardened inputs": each case failed
// (crash, silent acceptance, refusal or unclear error) before its fix.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli/config.h"
#include "letter/common/checkpoint.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/json.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/embed/item_text.h"
#include "letter/io/npy.h"
#include "letter/rec/recommender.h"
#include "test_util.h"

using namespace letter;
using test::error_of;

namespace {

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

DataOptions opts(const std::string& path) {
  DataOptions o;
  o.path = path;
  o.kcore = 0;
  return o;
}

// A two-item LETTER-format dataset in `dir`/d with the given item file.
std::string letter_dataset(const test::TempDir& dir, const std::string& item_json) {
  dir.file("d/d.inter.json", R"({"0": [0, 1, 0, 1], "1": [1, 0, 1, 0]})");
  dir.file("d/d.item.json", item_json);
  return dir.path("d");
}

}  // namespace

TEST(HardenedJson, DeepNestingIsRefusedBeforeParsing) {
  test::TempDir dir;
  const std::string deep = nested(66000);
  // Was a segfault (stack overflow in the serializer) for a config, a data file, an index.
  std::string msg = error_of([&] { Config::load(dir.file("deep.json", deep)); });
  EXPECT_NE(msg.find("deep.json: JSON nested deeper than 64 levels"), std::string::npos) << msg;
  EXPECT_THROW(Config::load(dir.path("deep.json")), UsageError);
  msg = error_of([&] { read_json_file(dir.path("deep.json"), "codes"); });
  EXPECT_NE(msg.find("nested deeper"), std::string::npos) << msg;
  dir.file("d/d.inter.json", "{\"0\": " + nested(50000) + "}");
  msg = error_of([&] { load_dataset(opts(dir.path("d"))); });
  EXPECT_NE(msg.find("d.inter.json: JSON nested deeper"), std::string::npos) << msg;
  Config c;
  msg = error_of([&] { c.set("data.kcore=" + nested(5000)); });
  EXPECT_NE(msg.find("nested deeper"), std::string::npos) << msg;
  // Depth at the limit still parses; brackets inside strings do not count.
  EXPECT_NO_THROW(parse_json(nested(64), "x"));
  EXPECT_THROW(parse_json(nested(65), "x"), Error);
  EXPECT_NO_THROW(parse_json("[\"" + std::string(100, '[') + "\\\"[\"]", "x"));
}

TEST(HardenedJson, ErrorsAreShortAndNameTheSource) {
  test::TempDir dir;
  // A number out of double range was nlohmann's raw out_of_range.406 text, exit 1.
  std::string msg = error_of([&] { Config::load(dir.file("big.json", R"({"data": {"kcore": 1e999}})")); });
  EXPECT_NE(msg.find("big.json: malformed JSON"), std::string::npos) << msg;
  EXPECT_THROW(Config::load(dir.path("big.json")), UsageError);
  // An offending 300 KB value is cut in the message.
  std::string big = "[1";
  for (int i = 0; i < 100000; ++i) big += ",1";
  big += "]";
  dir.file("d/d.inter.json", "{\"0\": [" + big + "]}");
  msg = error_of([&] { load_dataset(opts(dir.path("d"))); });
  EXPECT_NE(msg.find("is not an integer item id"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 400u) << msg.size();
  EXPECT_EQ(json_excerpt(nlohmann::json(std::string(1000, 'x')), 20).size(), 20u);
}

TEST(HardenedJson, InvalidUtf8IsReplacedAsTheStandardRecommends) {
  auto fixed = [](std::string s) {
    const int64_t n = replace_invalid_utf8(s);
    return std::make_pair(s, n);
  };
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(fixed("plain caf\xC3\xA9 \xF0\x9F\x98\x80"), std::make_pair(std::string("plain caf\xC3\xA9 \xF0\x9F\x98\x80"), int64_t{0}));
  EXPECT_EQ(fixed("a\x80" "b"), std::make_pair("a" + r + "b", int64_t{1}));          // stray continuation
  EXPECT_EQ(fixed("a\xE2\x82"), std::make_pair("a" + r, int64_t{1}));               // truncated 3-byte
  EXPECT_EQ(fixed("\xC0\x80"), std::make_pair(r + r, int64_t{2}));                   // overlong: 2 bytes bad
  EXPECT_EQ(fixed("\xED\xA0\x80"), std::make_pair(r + r + r, int64_t{3}));           // surrogate
  EXPECT_EQ(fixed("\xF4\x90\x80\x80"), std::make_pair(r + r + r + r, int64_t{4}));   // above U+10FFFF
  EXPECT_EQ(fixed("\xE2\x82x"), std::make_pair(r + "x", int64_t{1}));                // maximal subpart
}

TEST(HardenedData, ItemFileWithInvalidUtf8LoadsWithReplacement) {
  test::TempDir dir;
  // Was refused whole by the JSON parser.
  const std::string path = letter_dataset(dir, "{\"0\": {\"title\": \"bad \xFF byte\"}, \"1\": {\"title\": \"ok\"}}");
  Dataset ds = load_dataset(opts(path));
  EXPECT_EQ(ds.items[0].at("title"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(ds.items[1].at("title"), "ok");
}

TEST(HardenedData, NonTextItemFieldsAreRefused) {
  test::TempDir dir;
  for (const std::string bad : {"12", "true", "{\"x\": 1}", "[\"a\", 3]"}) {
    const std::string path = letter_dataset(dir, "{\"0\": {\"title\": " + bad + "}, \"1\": {\"title\": \"ok\"}}");
    std::string msg = error_of([&] { load_dataset(opts(path)); });
    EXPECT_NE(msg.find("item '0' field 'title' must be a string"), std::string::npos) << bad << ": " << msg;
  }
  std::string path = letter_dataset(dir, R"({"0": "just a string", "1": {"title": "ok"}})");
  std::string msg = error_of([&] { load_dataset(opts(path)); });
  EXPECT_NE(msg.find("item '0' must map to an object of text fields"), std::string::npos) << msg;
  // Lists of strings (Amazon category paths) and null stay text.
  path = letter_dataset(dir, R"({"0": {"title": [["A", "B"], null, "C"]}, "1": {"title": null}})");
  Dataset ds = load_dataset(opts(path));
  EXPECT_EQ(ds.items[0].at("title"), "A B C");
  EXPECT_EQ(ds.items[1].at("title"), "");
}

TEST(HardenedData, CsvAndRecBoleWithByteOrderMarkLoad) {
  test::TempDir dir;
  const std::string bom = "\xEF\xBB\xBF";
  Dataset csv = load_dataset(opts(dir.file("x.csv", bom + "user,item,timestamp\nu,a,1\nu,b,2\nv,b,1\nv,a,2\n")));
  EXPECT_EQ(csv.num_users(), 2);
  EXPECT_EQ(csv.num_items(), 2);
  dir.file("r/r.inter", bom + "user_id:token\titem_id:token\ttimestamp:float\nu\ta\t1\nu\tb\t2\nv\tb\t1\n");
  Dataset rb = load_dataset(opts(dir.path("r")));
  EXPECT_EQ(rb.num_users(), 2);
}

TEST(HardenedCodes, HugeCodebooksAreRefusedBeforeAllocating) {
  test::TempDir dir;
  Dataset ds = load_dataset(opts(letter_dataset(dir, R"({"0": {"title": "a"}, "1": {"title": "b"}})")));
  // Was taken as a codebook of 10^8 codes (2.5 GB; 16 GB for 9 digits).
  dir.file("x.index.json", R"({"0": ["<a_1>", "<b_99999999>"], "1": ["<a_2>", "<b_3>"]})");
  std::string msg = error_of([&] { load_item_codes(dir.path("x.index.json"), ds); });
  EXPECT_NE(msg.find("level 2 uses code 99999999; codebooks of at most 65536"), std::string::npos) << msg;
  io::write_npy(dir.path("c.npy"), torch::tensor({int64_t{0}, int64_t{70000}}).view({2, 1}));
  msg = error_of([&] { load_item_codes(dir.path("c.npy"), ds); });
  EXPECT_NE(msg.find("codebooks of at most 65536"), std::string::npos) << msg;
  dir.file("ok.index.json", R"({"0": ["<a_1>", "<b_65535>"], "1": ["<a_2>", "<b_3>"]})");
  EXPECT_EQ(load_item_codes(dir.path("ok.index.json"), ds).level_sizes[1], 65536);
}

TEST(HardenedConfig, BeamIsBoundedAndSuggestedByPrefix) {
  Config c;
  // Was accepted up to 4096 (out of memory with the allocator's raw message).
  std::string msg = error_of([&] { c.set("eval.beam=2000"); c.validate(); });
  EXPECT_NE(msg.find("eval.beam"), std::string::npos) << msg;
  // Was "did you mean 'eval.batch_size'".
  msg = error_of([&] { c.set("eval.beam_size=30"); });
  EXPECT_NE(msg.find("did you mean 'eval.beam'"), std::string::npos) << msg;
  msg = error_of([&] { c.set("eval.bach_size=30"); });
  EXPECT_NE(msg.find("did you mean 'eval.batch_size'"), std::string::npos) << msg;
}

TEST(HardenedConfig, BeamIsCappedAtTheDistinctCodeTuples) {
  test::TempDir dir;
  Dataset ds = load_dataset(opts(letter_dataset(dir, R"({"0": {"title": "a"}, "1": {"title": "b"}})")));
  ItemCodes codes;
  codes.codes = torch::tensor({int64_t{0}, int64_t{1}, int64_t{1}, int64_t{0}}).view({2, 2});
  codes.level_sizes = {2, 2};
  rec::Recommender model(test::tiny_recommender_options(), codes, torch::kCPU, 1);
  EXPECT_EQ(model.search_options(500).beam, 2);
  EXPECT_EQ(model.search_options(1).beam, 1);
}

TEST(HardenedCheckpoint, NonFiniteParametersAreRefusedOnLoad) {
  test::TempDir dir;
  torch::nn::Linear a(4, 3);
  {
    torch::NoGradGuard g;
    a->weight[1][2] = std::numeric_limits<float>::quiet_NaN();
  }
  CheckpointHeader h{"letter.test", 1, {}, {}};
  save_checkpoint(dir.path("nan.pt"), *a, nullptr, h);
  torch::nn::Linear b(4, 3);
  std::string msg = error_of([&] { load_checkpoint(dir.path("nan.pt"), *b, nullptr, "letter.test", 1); });
  EXPECT_NE(msg.find("nan.pt: parameter weight holds NaN or infinite values"), std::string::npos) << msg;
}

TEST(HardenedCli, AFailingRunLeavesNoFolderItCreated) {
  test::TempDir dir;
  const std::string out = dir.path("fresh");
  auto r = test::run_cli({"train-cf", dir.path("missing-dataset"), "--quiet", "--out", out});
  EXPECT_NE(r.code, 0);
  EXPECT_FALSE(std::filesystem::exists(out)) << r.err;
  // A folder that existed before keeps what it had.
  dir.file("kept/notes.txt", "mine");
  r = test::run_cli({"train-cf", dir.path("missing-dataset"), "--quiet", "--out", dir.path("kept")});
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.path("kept/notes.txt")));
}

TEST(HardenedCli, TwoRunsCannotWriteOneFolder) {
  test::TempDir dir;
  const std::string out = dir.path("run");
  std::filesystem::create_directories(out);
  // Another run holds the folder's lock (an open file description of its own).
  const int fd = ::open((out + "/.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  auto r = test::run_cli({"train-cf", test::tiny_dir(), "--quiet", "--out", out, "--set", "cf.epochs=1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("another letter run is writing"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out + "/config.json"));
  ::close(fd);
  // Once it ends the folder is free again, also for two runs one after the other.
  r = test::run_cli({"train-cf", test::tiny_dir(), "--quiet", "--out", out, "--set", "cf.epochs=1"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = test::run_cli({"train-cf", test::tiny_dir(), "--quiet", "--out", out, "--set", "cf.epochs=1"});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(HardenedText, ItemsWhoseOnlyTextWasTooLongSaySo) {
  std::vector<ItemText> items(2);
  items[0]["title"] = std::string(1000000, 'a');  // dropped by the 2,000-character rule
  items[1]["title"] = "short";
  embed::ItemTextOptions o;
  o.fields = {"title"};
  embed::ItemTexts t = embed::build_item_texts(items, 2, o);
  EXPECT_EQ(t.missing, std::vector<int64_t>{0});
  EXPECT_EQ(t.emptied_long, 1);
  EXPECT_EQ(t.missing_long, 1);
}

TEST(HardenedData, SparseLetterItemIdsAreRefusedBeforeAllocating) {
  test::TempDir dir;
  // Was std::bad_alloc (an array of 10^12 item ids).
  dir.file("d/d.inter.json", R"({"0": [0, 1, 999999999999], "1": [1, 0, 1]})");
  std::string msg = error_of([&] { load_dataset(opts(dir.path("d"))); });
  EXPECT_NE(msg.find("item ids run up to 999999999999 but only 3 distinct ids are used"), std::string::npos) << msg;
  // Gaps of unused ids stay allowed (items without interactions keep LETTER's ids).
  dir.file("g/g.inter.json", R"({"0": [0, 1, 5000], "1": [1, 0, 1]})");
  EXPECT_EQ(load_dataset(opts(dir.path("g"))).num_items(), 5001);
}

TEST(HardenedCheckpoint, TensorsChangedAfterSavingFailTheChecksum) {
  test::TempDir dir;
  torch::manual_seed(5);
  torch::nn::Linear a(4, 3);
  CheckpointHeader h{"letter.test", 1, {}, {}};
  save_checkpoint(dir.path("m.pt"), *a, nullptr, h);
  torch::nn::Linear ok(4, 3);
  EXPECT_NO_THROW(load_checkpoint(dir.path("m.pt"), *ok, nullptr, "letter.test", 1));
  EXPECT_TRUE(torch::equal(ok->weight, a->weight));
  EXPECT_EQ(read_checkpoint_header(dir.path("m.pt")).checksum.size(), 16u);
  // The same header over one changed weight (finite, right shape): only the checksum can tell.
  torch::serialize::InputArchive in;
  in.load_from(dir.path("m.pt"));
  c10::IValue header;
  ASSERT_TRUE(in.try_read("letter_header", header));
  {
    torch::NoGradGuard g;
    a->weight[0][0] += 1.0f;
  }
  torch::serialize::OutputArchive out;
  a->save(out);
  out.write("letter_header", header);
  out.save_to(dir.path("changed.pt"));
  torch::nn::Linear b(4, 3);
  std::string msg = error_of([&] { load_checkpoint(dir.path("changed.pt"), *b, nullptr, "letter.test", 1); });
  EXPECT_NE(msg.find("changed.pt: the tensors do not match the checksum"), std::string::npos) << msg;
}

// Found by fuzz_checkpoint: a header field of the wrong type escaped as nlohmann's type_error.
TEST(HardenedCheckpoint, HeaderFieldsOfTheWrongTypeAreRefused) {
  test::TempDir dir;
  torch::nn::Linear m(2, 2);
  auto write = [&](const std::string& header) {
    torch::serialize::OutputArchive out;
    m->save(out);
    out.write("letter_header", c10::IValue(header));
    out.save_to(dir.path("h.pt"));
    return dir.path("h.pt");
  };
  for (const char* bad : {R"({"format": 5})", R"({"version": "1"})", R"({"config": []})", R"({"state": 1})",
                          R"({"tensor_checksum": 7})", "[1, 2]"}) {
    const std::string msg = error_of([&] { read_checkpoint_header(write(bad)); });
    EXPECT_NE(msg.find("h.pt"), std::string::npos) << bad << ": " << msg;
    EXPECT_NE(msg.find("header"), std::string::npos) << bad << ": " << msg;
  }
  EXPECT_EQ(read_checkpoint_header(write(R"({"format": "letter.x", "version": 3, "config": null})")).version, 3);
}

// Found by fuzz_config: a --set value with invalid UTF-8 was accepted, and writing the
// resolved config (config.json) then failed with nlohmann's type_error.
TEST(HardenedConfig, SetValuesMustBeUtf8AndJsonWritesNeverFailOnBytes) {
  Config c;
  const std::string msg = error_of([&] { c.set("data.path=runs/\xff\xfe"); });
  EXPECT_NE(msg.find("not valid UTF-8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data.path=runs/\xEF\xBF\xBD"), std::string::npos) << msg;
  EXPECT_NO_THROW(c.set("data.path=runs/caf\xC3\xA9"));
  test::TempDir dir;
  write_json_atomic(dir.path("x.json"), nlohmann::json{{"codes", "a\xff.json"}});
  EXPECT_EQ(read_json_file(dir.path("x.json"), "test")["codes"], "a\xEF\xBF\xBD.json");
}
