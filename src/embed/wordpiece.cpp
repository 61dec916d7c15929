// WordPiece + BERT basic tokenization (see wordpiece.h for the steps and the reference).
#include "letter/embed/wordpiece.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <utf8proc.h>

#include "letter/common/error.h"
#include "letter/common/fs.h"

namespace letter::embed {

TokenizeStats& TokenizeStats::operator+=(const TokenizeStats& o) {
  texts += o.texts;
  invalid_bytes += o.invalid_bytes;
  invalid_texts += o.invalid_texts;
  unk_words += o.unk_words;
  truncated += o.truncated;
  tokens += o.tokens;
  return *this;
}

namespace detail {

std::vector<char32_t> decode_utf8(const std::string& s, int64_t* invalid) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  int64_t bad = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  auto cont = [&](size_t k, unsigned lo, unsigned hi) {
    return k < n && p[k] >= lo && p[k] <= hi;
  };
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      out.push_back(c);
      ++i;
      continue;
    }
    // Well-formed sequences (Unicode table 3-7); the second byte's range depends on the first.
    int len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // <= U+10FFFF
    }
    bool ok = len > 0 && cont(i + 1, lo, hi);
    for (int k = 2; ok && k < len; ++k) ok = cont(i + k, 0x80, 0xBF);
    if (!ok) {
      out.push_back(0xFFFD);
      ++bad;
      ++i;
      continue;
    }
    char32_t cp = (len == 2) ? (c & 0x1F) : (len == 3) ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
    out.push_back(cp);
    i += len;
  }
  if (invalid) *invalid = bad;
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string encode_utf8(const std::vector<char32_t>& cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

bool is_cjk(char32_t cp) {
  // BERT's _is_chinese_char (CJK Unified Ideographs and extensions, compatibility ideographs).
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126))
    return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool is_whitespace(char32_t cp) {
  // \t \n \r and Unicode White_Space (what Rust's char::is_whitespace tests).
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
      return true;
    default:
      return false;
  }
}

}  // namespace detail

namespace {

using detail::append_utf8;

// NFD of `in` (canonical decomposition + canonical ordering of combining marks), then drop
// the non-spacing marks (Mn): BertNormalizer's strip_accents.
void strip_accents(std::vector<char32_t>& cps) {
  std::vector<char32_t> out;
  out.reserve(cps.size() + cps.size() / 4);
  utf8proc_int32_t buf[32];
  for (char32_t c : cps) {
    if (c < 0x80) {
      out.push_back(c);
      continue;
    }
    int boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 32,
                                                 UTF8PROC_DECOMPOSE, &boundclass);
    if (n < 0 || n > 32) {
      out.push_back(c);
      continue;
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) out.push_back(static_cast<char32_t>(buf[k]));
  }
  // Canonical ordering: stable sort of each run of non-starters by combining class. (Only
  // matters for marks that survive the Mn filter below, but keeps this a true NFD.)
  auto ccc = [](char32_t c) {
    return c < 0x300 ? 0 : utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
  };
  for (size_t i = 0; i < out.size();) {
    if (ccc(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && ccc(out[j]) != 0) ++j;
    std::stable_sort(out.begin() + i, out.begin() + j,
                     [&](char32_t a, char32_t b) { return ccc(a) < ccc(b); });
    i = j;
  }
  cps.clear();
  for (char32_t c : out)
    if (c < 0x300 || utf8proc_category(static_cast<utf8proc_int32_t>(c)) != UTF8PROC_CATEGORY_MN)
      cps.push_back(c);
}

void lowercase(std::vector<char32_t>& cps) {
  std::vector<char32_t> out;
  out.reserve(cps.size());
  for (char32_t c : cps) {
    if (c < 0x80) {
      out.push_back((c >= 'A' && c <= 'Z') ? c + 32 : c);
    } else if (c == 0x130) {  // the one unconditional multi-character lower-case mapping
      out.push_back('i');
      out.push_back(0x307);
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  cps.swap(out);
}

bool has_upper_letter(const std::string& token) {
  if (token.size() >= 2 && token.front() == '[' && token.back() == ']') return false;
  for (char32_t c : detail::decode_utf8(token))
    if (utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_LU) return true;
  return false;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  LETTER_CHECK(!vocab_.empty(), "WordPiece vocabulary is empty");
  LETTER_CHECK(options_.max_chars_per_word > 0, "max_chars_per_word must be > 0");
  index_.reserve(vocab_.size() * 2);
  for (size_t i = 0; i < vocab_.size(); ++i) index_[vocab_[i]] = static_cast<int64_t>(i);  // last wins, as HF's load_vocab
  auto need = [&](const char* tok) {
    auto it = index_.find(tok);
    LETTER_CHECK(it != index_.end(), "WordPiece vocabulary has no ", tok,
                 " token: not a BERT vocabulary (", vocab_.size(), " entries)");
    return it->second;
  };
  cls_ = need("[CLS]");
  sep_ = need("[SEP]");
  pad_ = need("[PAD]");
  unk_ = need("[UNK]");
  for (const char* s : {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"})
    if (index_.count(s)) specials_.push_back(s);
}

std::vector<std::string> WordPieceTokenizer::read_vocab(const std::string& path) {
  std::string text = read_text_file(path, "vocabulary");
  std::vector<std::string> vocab;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(std::move(line));
    start = end + 1;
  }
  LETTER_CHECK(!vocab.empty(), path, ": empty vocabulary");
  return vocab;
}

WordPieceTokenizer WordPieceTokenizer::from_folder(const std::string& dir) {
  const std::string vocab_path = join(dir, "vocab.txt");
  const std::string tj_path = join(dir, "tokenizer.json");
  if (!path_exists(vocab_path)) {
    LETTER_CHECK(!path_exists(tj_path), dir,
                 ": has tokenizer.json but no vocab.txt; letter reads BERT WordPiece "
                 "vocabularies from vocab.txt (one token per line, line number = id). Write it "
                 "with Python: AutoTokenizer.from_pretrained(dir).save_pretrained(dir) for a "
                 "BERT tokenizer, or copy vocab.txt from the model's original repository");
    LETTER_FAIL(dir, ": no vocab.txt (a BERT-family model folder needs config.json, vocab.txt "
                     "and model.safetensors)");
  }
  std::vector<std::string> vocab = read_vocab(vocab_path);
  WordPieceOptions opt;
  std::string source;
  if (path_exists(tj_path)) {
    nlohmann::json tj = read_json_file(tj_path, "tokenizer");
    const auto& norm = tj.contains("normalizer") ? tj["normalizer"] : nlohmann::json();
    if (norm.is_object() && norm.value("type", "") == "BertNormalizer") {
      opt.lowercase = norm.value("lowercase", true);
      opt.clean_text = norm.value("clean_text", true);
      opt.handle_chinese_chars = norm.value("handle_chinese_chars", true);
      if (norm.contains("strip_accents") && norm["strip_accents"].is_boolean())
        opt.strip_accents = norm["strip_accents"].get<bool>() ? 1 : 0;
      source = "tokenizer.json";
    } else if (!norm.is_null()) {
      spdlog::warn("{}: tokenizer.json normalizer is {}, not BertNormalizer; using BERT's "
                   "basic tokenization with settings from tokenizer_config.json / vocab.txt",
                   dir, norm.value("type", "?"));
    }
    if (tj.contains("model") && tj["model"].is_object()) {
      const auto& m = tj["model"];
      LETTER_CHECK(m.value("type", "WordPiece") == "WordPiece", tj_path, ": tokenizer model is ",
                   m.value("type", "?"), "; letter supports WordPiece (BERT) vocabularies only");
      if (m.contains("max_input_chars_per_word") && m["max_input_chars_per_word"].is_number())
        opt.max_chars_per_word = m["max_input_chars_per_word"].get<int64_t>();
      if (m.contains("continuing_subword_prefix") && m["continuing_subword_prefix"].is_string())
        opt.continuation_prefix = m["continuing_subword_prefix"].get<std::string>();
    }
  }
  const std::string tc_path = join(dir, "tokenizer_config.json");
  if (source.empty() && path_exists(tc_path)) {
    nlohmann::json tc = read_json_file(tc_path, "tokenizer config");
    if (tc.contains("do_lower_case") && tc["do_lower_case"].is_boolean()) {
      opt.lowercase = tc["do_lower_case"].get<bool>();
      source = "tokenizer_config.json";
    }
    if (tc.contains("strip_accents") && tc["strip_accents"].is_boolean())
      opt.strip_accents = tc["strip_accents"].get<bool>() ? 1 : 0;
    if (tc.contains("tokenize_chinese_chars") && tc["tokenize_chinese_chars"].is_boolean())
      opt.handle_chinese_chars = tc["tokenize_chinese_chars"].get<bool>();
  }
  if (source.empty()) {
    opt.lowercase = std::none_of(vocab.begin(), vocab.end(), has_upper_letter);
    source = "vocab.txt (no upper-case entries = uncased)";
  }
  spdlog::debug("{}: WordPiece {} tokens, lowercase={} strip_accents={} (from {})", dir,
                vocab.size(), opt.lowercase, opt.strip_accents, source);
  return WordPieceTokenizer(std::move(vocab), opt);
}

bool WordPieceTokenizer::strips_accents() const {
  return options_.strip_accents < 0 ? options_.lowercase : options_.strip_accents == 1;
}

int64_t WordPieceTokenizer::id_of(const std::string& token) const {
  auto it = index_.find(token);
  return it == index_.end() ? -1 : it->second;
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(const std::string& text,
                                                            TokenizeStats* stats) const {
  int64_t invalid = 0;
  std::vector<char32_t> cps = detail::decode_utf8(text, &invalid);
  if (stats) {
    stats->invalid_bytes += invalid;
    stats->invalid_texts += invalid > 0;
  }
  std::string valid = invalid ? detail::encode_utf8(cps) : text;

  std::vector<std::string> words;
  // Normalises and splits one segment of text that holds no special token.
  auto segment = [&](size_t begin, size_t end) {
    if (begin >= end) return;
    std::vector<char32_t> s = detail::decode_utf8(valid.substr(begin, end - begin));
    std::vector<char32_t> t;
    t.reserve(s.size() + 8);
    for (char32_t c : s) {
      if (options_.clean_text) {
        if (c == 0 || c == 0xFFFD || detail::is_control(c)) continue;
        if (detail::is_whitespace(c)) c = ' ';
      }
      if (options_.handle_chinese_chars && detail::is_cjk(c)) {
        t.push_back(' ');
        t.push_back(c);
        t.push_back(' ');
      } else {
        t.push_back(c);
      }
    }
    if (strips_accents()) strip_accents(t);
    if (options_.lowercase) lowercase(t);
    std::string cur;
    auto flush = [&] {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    };
    for (char32_t c : t) {
      if (detail::is_whitespace(c)) {
        flush();
      } else if (detail::is_punctuation(c)) {
        flush();
        append_utf8(cur, c);
        flush();
      } else {
        append_utf8(cur, c);
      }
    }
    flush();
  };

  // Special tokens written in the raw text are kept whole (leftmost match; HF's added tokens).
  size_t pos = 0;
  while (pos < valid.size()) {
    size_t best = std::string::npos;
    const std::string* best_tok = nullptr;
    for (const auto& s : specials_) {
      size_t f = valid.find(s, pos);
      if (f < best || (f == best && best_tok && s.size() > best_tok->size())) {
        best = f;
        best_tok = &s;
      }
    }
    if (best == std::string::npos) {
      segment(pos, valid.size());
      break;
    }
    segment(pos, best);
    words.push_back(*best_tok);
    pos = best + best_tok->size();
  }
  return words;
}

bool WordPieceTokenizer::wordpiece(const std::string& word, std::vector<int64_t>& out) const {
  auto it = index_.find(word);
  if (it != index_.end()) {  // whole word (also the special tokens)
    out.push_back(it->second);
    return true;
  }
  // Character boundaries (byte offsets) of the UTF-8 word.
  std::vector<size_t> bounds;
  for (size_t i = 0; i < word.size(); ++i)
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) bounds.push_back(i);
  bounds.push_back(word.size());
  const size_t nchars = bounds.size() - 1;
  if (static_cast<int64_t>(nchars) > options_.max_chars_per_word) {
    out.push_back(unk_);
    return false;
  }
  const size_t mark = out.size();
  std::string piece;
  size_t start = 0;
  while (start < nchars) {
    size_t end = nchars;
    int64_t found = -1;
    while (start < end) {
      piece.clear();
      if (start > 0) piece = options_.continuation_prefix;
      piece.append(word, bounds[start], bounds[end] - bounds[start]);
      auto f = index_.find(piece);
      if (f != index_.end()) {
        found = f->second;
        break;
      }
      --end;
    }
    if (found < 0) {
      out.resize(mark);
      out.push_back(unk_);
      return false;
    }
    out.push_back(found);
    start = end;
  }
  return true;
}

std::vector<int64_t> WordPieceTokenizer::encode(const std::string& text, int64_t max_length,
                                                TokenizeStats* stats) const {
  LETTER_CHECK(max_length >= 2, "max_length must be >= 2 ([CLS] and [SEP]), got ", max_length);
  TokenizeStats local;
  std::vector<std::string> words = basic_tokenize(text, &local);
  std::vector<int64_t> ids;
  ids.reserve(words.size() * 2 + 2);
  ids.push_back(cls_);
  for (const auto& w : words)
    if (!wordpiece(w, ids)) ++local.unk_words;
  if (static_cast<int64_t>(ids.size()) > max_length - 1) {
    ids.resize(max_length - 1);
    ++local.truncated;
  }
  ids.push_back(sep_);
  local.texts = 1;
  local.tokens = static_cast<int64_t>(ids.size());
  if (stats) *stats += local;
  return ids;
}

std::vector<std::string> WordPieceTokenizer::tokens(const std::vector<int64_t>& ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids)
    out.push_back(id >= 0 && id < vocab_size() ? vocab_[id] : "<out of range " + std::to_string(id) + ">");
  return out;
}

}  // namespace letter::embed
