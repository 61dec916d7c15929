// Tests for the data module: the three loaders agree on the bundled data, the k-core filter
// and the leave-one-out split against hand-worked examples, batching, index.json codes, and
// every bad-input path. Reference counts for the real datasets: algorithms.md a.1.
#include <gtest/gtest.h>

#include <filesystem>

#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/data/stats.h"
#include "test_util.h"

using namespace letter;
using test::error_of;

namespace {

DataOptions opts(const std::string& path) {
  DataOptions o;
  o.path = path;
  return o;
}

// Sequences as raw-id strings, keyed by raw user id: format-independent comparison.
std::map<std::string, std::vector<std::string>> raw_sequences(const Dataset& ds) {
  std::map<std::string, std::vector<std::string>> out;
  for (int64_t u = 0; u < ds.num_users(); ++u) {
    auto& v = out[ds.user_ids[u]];
    for (int64_t i : ds.sequences[u]) v.push_back(ds.item_ids[i]);
  }
  return out;
}

// Maps tiny's raw ids (U0007 / I0042) to LETTER's integer ids ("7" / "42").
std::string strip_prefix(const std::string& raw) { return std::to_string(std::stoll(raw.substr(1))); }

Dataset small_dataset(std::vector<std::vector<int64_t>> seqs, int64_t n_items) {
  Dataset ds;
  ds.name = "small";
  ds.sequences = std::move(seqs);
  for (size_t u = 0; u < ds.sequences.size(); ++u) ds.user_ids.push_back("u" + std::to_string(u));
  for (int64_t i = 0; i < n_items; ++i) ds.item_ids.push_back("i" + std::to_string(i));
  return ds;
}


}  // namespace

TEST(DataLoad, TinyLetterFormat) {
  LoadReport rep;
  Dataset ds = load_dataset(opts(test::tiny_dir()), &rep);
  EXPECT_EQ(rep.format, "letter");
  EXPECT_EQ(ds.name, "tiny");
  EXPECT_EQ(ds.num_users(), 600);
  EXPECT_EQ(ds.num_items(), 407);
  EXPECT_EQ(ds.num_interactions(), 5937);
  EXPECT_TRUE(rep.kcore.empty()) << "tiny is already 5-core";
  ASSERT_EQ(ds.items.size(), 407u);
  EXPECT_FALSE(ds.items[0].at("title").empty());
  EXPECT_EQ(ds.user_ids[10], "10");  // numeric keys are ordered numerically, not as strings
}

TEST(DataLoad, CsvAndRecboleMatchLetterJson) {
  Dataset ref = load_dataset(opts(test::tiny_dir()));
  auto ref_seqs = raw_sequences(ref);

  LoadReport csv_rep;
  Dataset csv = load_dataset(opts(test::tiny_dir() + "/tiny.csv"), &csv_rep);
  EXPECT_EQ(csv_rep.format, "csv");
  EXPECT_GT(csv_rep.users_reordered, 0) << "tiny.csv has users with rows out of time order";
  LoadReport rb_rep;
  DataOptions rb_opt = opts(test::tiny_dir());
  rb_opt.format = DataFormat::kRecBole;
  Dataset rb = load_dataset(rb_opt, &rb_rep);
  EXPECT_EQ(rb_rep.format, "recbole");

  for (const Dataset* ds : {&csv, &rb}) {
    EXPECT_EQ(ds->num_users(), ref.num_users());
    EXPECT_EQ(ds->num_items(), ref.num_items());
    EXPECT_EQ(ds->num_interactions(), ref.num_interactions());
    for (const auto& [user, seq] : raw_sequences(*ds)) {
      std::vector<std::string> mapped;
      for (const auto& i : seq) mapped.push_back(strip_prefix(i));
      ASSERT_EQ(mapped, ref_seqs.at(strip_prefix(user))) << "user " << user;
    }
  }
  // RecBole item text follows the item through the id map.
  auto idx = rb.item_index();
  EXPECT_EQ(rb.items[idx.at("I0000")].at("title"), ref.items[0].at("title"));
}

TEST(DataLoad, CsvWithoutHeaderOrTimestamp) {
  test::TempDir dir;
  std::string p = dir.file("x.csv", "alice,book\nbob,pen\nalice,pen\nbob,book\n");
  DataOptions o = opts(p);
  o.kcore = 0;
  Dataset ds = load_dataset(o);
  ASSERT_EQ(ds.num_users(), 2);
  EXPECT_EQ(ds.user_ids, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(ds.item_ids, (std::vector<std::string>{"book", "pen"}));
  EXPECT_EQ(ds.sequences[0], (std::vector<int64_t>{0, 1}));  // file order without timestamps
  EXPECT_EQ(ds.sequences[1], (std::vector<int64_t>{1, 0}));
}

TEST(DataLoad, TsvHeaderColumnsByName) {
  test::TempDir dir;
  std::string p = dir.file("x.tsv", "timestamp\titem_id\tuser_id\n3\tb\tu\n1\ta\tu\n2\tc\tu\n");
  DataOptions o = opts(p);
  o.kcore = 0;
  LoadReport rep;
  Dataset ds = load_dataset(o, &rep);
  ASSERT_EQ(ds.num_users(), 1);
  std::vector<std::string> items;
  for (int64_t i : ds.sequences[0]) items.push_back(ds.item_ids[i]);
  EXPECT_EQ(items, (std::vector<std::string>{"a", "c", "b"}));
  EXPECT_EQ(rep.users_reordered, 1);
}

TEST(DataLoad, UnsortedTimestampsCanBeAnError) {
  test::TempDir dir;
  std::string p = dir.file("x.csv", "user,item,timestamp\nu,a,5\nu,b,3\n");
  DataOptions o = opts(p);
  o.kcore = 0;
  o.unsorted = Unsorted::kError;
  std::string msg = error_of([&] { load_dataset(o); });
  EXPECT_NE(msg.find("not in timestamp order"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'u'"), std::string::npos) << msg;
}

TEST(DataLoad, RepeatsCanBeDropped) {
  test::TempDir dir;
  std::string p = dir.file("x.csv", "u,a\nu,b\nu,a\nu,c\n");
  DataOptions o = opts(p);
  o.kcore = 0;
  o.keep_repeats = false;
  LoadReport rep;
  Dataset ds = load_dataset(o, &rep);
  EXPECT_EQ(ds.sequences[0].size(), 3u);
  EXPECT_EQ(rep.repeats_dropped, 1);
}

TEST(DataErrors, MissingFile) {
  std::string msg = error_of([] { load_dataset(opts("/nonexistent/dataset")); });
  EXPECT_NE(msg.find("dataset not found: /nonexistent/dataset"), std::string::npos) << msg;
  test::TempDir dir;
  msg = error_of([&] { load_dataset(opts(dir.root.string())); });
  EXPECT_NE(msg.find("no interaction file"), std::string::npos) << msg;
}

TEST(DataErrors, MalformedJson) {
  test::TempDir dir;
  dir.file("d/d.inter.json", "{\"0\": [1, 2,");
  std::string msg = error_of([&] { load_dataset(opts(dir.path("d"))); });
  EXPECT_NE(msg.find("d.inter.json: malformed JSON"), std::string::npos) << msg;
}

TEST(DataErrors, WrongTypes) {
  test::TempDir dir;
  dir.file("a/a.inter.json", "{\"0\": \"1 2 3\"}");
  std::string msg = error_of([&] { load_dataset(opts(dir.path("a"))); });
  EXPECT_NE(msg.find("must map to a list of item ids"), std::string::npos) << msg;
  dir.file("b/b.inter.json", "{\"0\": [1, 2.5]}");
  msg = error_of([&] { load_dataset(opts(dir.path("b"))); });
  EXPECT_NE(msg.find("not an integer item id"), std::string::npos) << msg;
  dir.file("c/c.inter.json", "[[1, 2]]");
  msg = error_of([&] { load_dataset(opts(dir.path("c"))); });
  EXPECT_NE(msg.find("expected a JSON object"), std::string::npos) << msg;
  dir.file("e/e.inter.json", "{\"0\": [-3]}");
  msg = error_of([&] { load_dataset(opts(dir.path("e"))); });
  EXPECT_NE(msg.find("negative item id"), std::string::npos) << msg;
  std::string csv = dir.file("t.csv", "user,item,timestamp\nu,a,yesterday\n");
  msg = error_of([&] { load_dataset(opts(csv)); });
  EXPECT_NE(msg.find("t.csv:2: timestamp 'yesterday' is not a number"), std::string::npos) << msg;
  std::string short_row = dir.file("s.csv", "user,item,timestamp\nu,a\n");
  msg = error_of([&] { load_dataset(opts(short_row)); });
  EXPECT_NE(msg.find("s.csv:2"), std::string::npos) << msg;
}

TEST(DataErrors, UnknownItemIds) {
  test::TempDir dir;
  dir.file("d/d.inter.json", "{\"0\": [0, 1, 7]}");
  dir.file("d/d.item.json", "{\"0\": {\"title\": \"a\"}, \"1\": {\"title\": \"b\"}}");
  std::string msg = error_of([&] { load_dataset(opts(dir.path("d"))); });
  EXPECT_NE(msg.find("unknown item id 7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("d.item.json"), std::string::npos) << msg;
}

TEST(DataErrors, UserWithNoInteractions) {
  test::TempDir dir;
  dir.file("d/d.inter.json", "{\"0\": [0, 1], \"1\": []}");
  std::string msg = error_of([&] { load_dataset(opts(dir.path("d"))); });
  EXPECT_NE(msg.find("user '1' has no interactions"), std::string::npos) << msg;
}

TEST(DataErrors, DuplicateUsers) {
  test::TempDir dir;
  dir.file("d/d.inter.json", "{\"0\": [0, 1], \"1\": [1, 0], \"0\": [1]}");
  std::string msg = error_of([&] { load_dataset(opts(dir.path("d"))); });
  EXPECT_NE(msg.find("key '0' appears more than once (duplicate user)"), std::string::npos) << msg;
}

TEST(DataErrors, EmptyAfterKcore) {
  test::TempDir dir;
  dir.file("d/d.inter.json", "{\"0\": [0, 1], \"1\": [1, 0]}");
  std::string msg = error_of([&] { load_dataset(opts(dir.path("d"))); });
  EXPECT_NE(msg.find("empty after the 5-core filter"), std::string::npos) << msg;
}

TEST(Kcore, IterativeRoundsByHand) {
  // Items 0,1,2 occur often; item 3 once; user 2 has 2 items after item 3 leaves.
  // k = 2. Round 1: item 3 (count 1) goes -> user 2 = [0] (1 item) goes.
  // Then item 2's count drops from 2 to 1 -> round 2 removes item 2 -> user 1 = [0] goes...
  Dataset ds = small_dataset({{0, 1, 2}, {0, 2}, {0, 3}, {1, 0}}, 4);
  // counts: 0:4, 1:2, 2:2, 3:1
  auto rounds = kcore_filter(ds, 2);
  // Round 1: drop item 3; user 2 -> [0] (< 2) dropped. Counts now 0:3, 1:2, 2:2: stable.
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].items_removed, 1);
  EXPECT_EQ(rounds[0].users_removed, 1);
  EXPECT_EQ(rounds[0].interactions_removed, 2);
  EXPECT_EQ(ds.num_users(), 3);
  EXPECT_EQ(ds.user_ids, (std::vector<std::string>{"u0", "u1", "u3"}));
  EXPECT_EQ(ds.item_ids, (std::vector<std::string>{"i0", "i1", "i2"}));

  // A cascade: k = 3 on the same data needs two rounds.
  Dataset ds2 = small_dataset({{0, 1, 2}, {0, 1, 2}, {0, 1, 3}, {0, 1}}, 4);
  // counts: 0:4 1:4 2:2 3:1 -> round 1 drops items 2,3; users 0,1,2 -> [0,1] (<3), user 3 [0,1]
  // -> all users dropped.
  auto r2 = kcore_filter(ds2, 3);
  ASSERT_GE(r2.size(), 1u);
  EXPECT_EQ(ds2.num_users(), 0);
  EXPECT_TRUE(kcore_filter(ds, 1).empty());
}

TEST(Split, LeaveOneOutByHand) {
  Dataset ds = small_dataset({{10, 11, 12, 13, 14}, {20, 21}, {30}}, 40);
  Split sp = leave_one_out(ds, 20);
  // user 0: train targets pos 1, 2 (items 11, 12); valid pos 3 (13); test pos 4 (14).
  ASSERT_EQ(sp.train.size(), 2u);
  EXPECT_EQ(sp.train[0].user, 0);
  EXPECT_EQ(sp.train[0].pos, 1);
  EXPECT_EQ(sp.train[1].pos, 2);
  ASSERT_EQ(sp.valid.size(), 1u);  // user 1 has n = 2: test only; user 2: nothing
  EXPECT_EQ(sp.valid[0].pos, 3);
  ASSERT_EQ(sp.test.size(), 2u);
  EXPECT_EQ(sp.test[0].pos, 4);
  EXPECT_EQ(sp.test[1].user, 1);
  EXPECT_EQ(sp.test[1].pos, 1);

  HistoryBatch b = make_history_batch(ds, sp.test, 0, 2, 20, /*pad=*/-1, /*left_pad=*/false);
  EXPECT_TRUE(torch::equal(b.items, torch::tensor({10, 11, 12, 13, 20, -1, -1, -1}, torch::kInt64).view({2, 4})));
  EXPECT_TRUE(torch::equal(b.lengths, torch::tensor({4, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(b.targets, torch::tensor({14, 21}, torch::kInt64)));
  HistoryBatch l = make_history_batch(ds, sp.test, 0, 2, 20, 0, /*left_pad=*/true);
  EXPECT_TRUE(torch::equal(l.items, torch::tensor({10, 11, 12, 13, 0, 0, 0, 20}, torch::kInt64).view({2, 4})));
}

TEST(Split, HistoriesAreTruncatedToMaxHistory) {
  std::vector<int64_t> seq(30);
  for (int i = 0; i < 30; ++i) seq[i] = i;
  Dataset ds = small_dataset({seq}, 30);
  Split sp = leave_one_out(ds, 20);
  EXPECT_EQ(sp.train.size(), 27u);
  HistoryBatch b = make_history_batch(ds, sp.test, 0, 1, 20, -1, false);
  ASSERT_EQ(b.items.size(1), 20);
  EXPECT_EQ(b.items[0][0].item<int64_t>(), 9);  // last 20 of 0..28
  EXPECT_EQ(b.items[0][19].item<int64_t>(), 28);
  EXPECT_EQ(b.targets[0].item<int64_t>(), 29);
  EXPECT_THROW(make_history_batch(ds, sp.test, 0, 2, 20, -1, false), Error);
}

TEST(Stats, HandComputed) {
  Dataset ds = small_dataset({{0, 1, 2, 3, 4}, {1, 2, 3, 4, 0, 1}}, 5);
  auto s = dataset_stats(ds, 20);
  EXPECT_EQ(s["users"], 2);
  EXPECT_EQ(s["items"], 5);
  EXPECT_EQ(s["interactions"], 11);
  EXPECT_DOUBLE_EQ(s["sparsity"].get<double>(), 1.0 - 11.0 / 10.0);  // repeats count too
  EXPECT_EQ(s["length"]["min"], 5);
  EXPECT_EQ(s["length"]["max"], 6);
  EXPECT_DOUBLE_EQ(s["length"]["mean"].get<double>(), 5.5);
  EXPECT_EQ(s["split"]["train"], 2 + 3);
  EXPECT_EQ(s["split"]["valid"], 2);
  EXPECT_EQ(s["item_count"]["max"], 3);  // item 1 occurs 3 times
}

TEST(Convert, LetterFormatRoundTrip) {
  DataOptions o = opts(test::tiny_dir() + "/tiny.csv");
  Dataset csv = load_dataset(o);
  test::TempDir dir;
  csv.name = "conv";
  write_letter_format(csv, dir.path("conv"));
  EXPECT_TRUE(path_exists(dir.path("conv/conv.user2id")));
  EXPECT_TRUE(path_exists(dir.path("conv/conv.item2id")));
  Dataset back = load_dataset(opts(dir.path("conv")));
  ASSERT_EQ(back.num_users(), csv.num_users());
  EXPECT_EQ(back.sequences, csv.sequences);
  // The inter.json layout equals Python's json.dumps(indent=4).
  std::string text = read_text_file(dir.path("conv/conv.inter.json"));
  EXPECT_EQ(text.substr(0, 20), "{\n    \"0\": [\n       ");
  EXPECT_NE(text.back(), '\n');
}

TEST(Codes, IndexJsonRoundTripAndErrors) {
  Dataset ds = small_dataset({{0, 1, 2}}, 3);
  ds.item_ids = {"0", "1", "2"};
  test::TempDir dir;
  auto codes = torch::tensor({3, 1, 0, 3, 2, 0, 255, 0, 9}, torch::kInt64).view({3, 3});
  write_index_json(dir.path("x.index.json"), codes, ds);
  EXPECT_EQ(read_text_file(dir.path("x.index.json")).substr(0, 35), "{\"0\": [\"<a_3>\", \"<b_1>\", \"<c_0>\"], ");
  ItemCodes back = read_index_json(dir.path("x.index.json"), ds);
  EXPECT_TRUE(torch::equal(back.codes, codes));
  EXPECT_EQ(back.level_sizes, (std::vector<int64_t>{256, 3, 10}));
  EXPECT_EQ(back.distinct(), 3);

  dir.file("bad1.json", R"({"0": ["<a_1>", "<b_2>"], "1": ["<a_1>"], "2": ["<a_0>", "<b_0>"]})");
  EXPECT_NE(error_of([&] { read_index_json(dir.path("bad1.json"), ds); }).find("has 1 codes"), std::string::npos);
  dir.file("bad2.json", R"({"0": ["<b_1>"], "1": ["<a_1>"], "2": ["<a_0>"]})");
  EXPECT_NE(error_of([&] { read_index_json(dir.path("bad2.json"), ds); }).find("should use letter 'a'"), std::string::npos);
  dir.file("bad3.json", R"({"0": ["<a_1>"], "1": ["<a_1>"]})");
  EXPECT_NE(error_of([&] { read_index_json(dir.path("bad3.json"), ds); }).find("item '2'"), std::string::npos);
  dir.file("bad4.json", R"({"0": ["a_1"], "1": ["<a_1>"], "2": ["<a_1>"]})");
  EXPECT_NE(error_of([&] { read_index_json(dir.path("bad4.json"), ds); }).find("malformed code token"), std::string::npos);
  dir.file("bad5.json", R"({"0": ["<a_1>"], "1": ["<a_1>"], "2": ["<a_1>"], "9": ["<a_1>"]})");
  EXPECT_NE(error_of([&] { read_index_json(dir.path("bad5.json"), ds); }).find("item '9' is not in dataset"), std::string::npos);
}

// Real datasets (../shared/data); reference counts from algorithms.md a.1.
TEST(RealData, BeautyAndInstrumentsCounts) {
  struct Ref {
    const char* name;
    int64_t users, items, inter, train;
  };
  for (const Ref& r : {Ref{"Beauty", 22363, 12101, 198502, 131413},
                       Ref{"Instruments", 24772, 9922, 206153, 131837}}) {
    std::string dir = test::shared_data(r.name);
    if (!path_exists(dir)) GTEST_SKIP() << dir << " not present";
    Dataset ds = load_dataset(opts(dir));
    auto s = dataset_stats(ds, 20);
    EXPECT_EQ(s["users"], r.users) << r.name;
    EXPECT_EQ(s["items"], r.items) << r.name;
    EXPECT_EQ(s["interactions"], r.inter) << r.name;
    EXPECT_EQ(s["split"]["train"], r.train) << r.name;
    ItemCodes codes = read_index_json(dir + "/" + r.name + ".index.json", ds);
    EXPECT_EQ(codes.levels(), 4);
    EXPECT_EQ(codes.distinct(), std::string(r.name) == "Beauty" ? 12088 : 9897) << r.name;
  }
}
