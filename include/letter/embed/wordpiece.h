// WordPiece tokenizer with BERT's basic tokenization, matching Hugging Face's fast
// BertTokenizer (tokenizers: BertNormalizer + BertPreTokenizer + WordPiece + the
// "[CLS] $A [SEP]" template), which is what sentence-transformers runs.
//
// Steps for one text (any byte string):
//   0. decode UTF-8; each invalid byte becomes U+FFFD and is counted;
//      the special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]) written literally in the raw
//      text are matched first and kept whole, as the fast tokenizer's added tokens are;
//   1. clean: drop NUL, U+FFFD and control/format/unassigned/private-use characters
//      (categories C*, except \t \n \r), map white space to ' ';
//   2. put spaces around CJK ideographs (the ranges of BERT's _is_chinese_char);
//   3. when uncased (or strip_accents is set): NFD, then drop non-spacing marks (Mn);
//   4. when uncased: lower-case (Unicode simple mapping; U+0130 -> "i" U+0307);
//   5. split on white space; every punctuation character (ASCII punctuation or Unicode P*)
//      is a word of its own;
//   6. WordPiece per word: greedy longest-match-first, continuation pieces prefixed "##";
//      a word longer than 100 characters, or one that cannot be covered, is [UNK];
//   7. [CLS] pieces [SEP], truncated to max_length tokens (pieces first).
// Unicode properties come from utf8proc (Unicode 15 in utf8proc 2.8); HF's Rust tables
// are older, so characters assigned after them (some recent emoji) may differ (a [UNK]
// here where HF drops the character).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace letter::embed {

/// How text is normalised before WordPiece. Read from the model folder by
/// `WordPieceTokenizer::from_folder` (tokenizer.json normalizer, else tokenizer_config.json,
/// else guessed from the vocabulary).
struct WordPieceOptions {
  /// Lower-case the text (uncased vocabularies).
  bool lowercase = true;
  /// Strip accents (NFD + drop Mn); -1 = follow `lowercase` (BERT's default), 0 = no, 1 = yes.
  int strip_accents = -1;
  /// Remove control characters and normalise white space (step 1).
  bool clean_text = true;
  /// Surround CJK ideographs with spaces (step 2).
  bool handle_chinese_chars = true;
  /// Words longer than this many characters become [UNK] (HF default 100).
  int64_t max_chars_per_word = 100;
  /// Prefix of continuation pieces.
  std::string continuation_prefix = "##";
};

/// Counters collected while encoding (added up over calls).
struct TokenizeStats {
  int64_t texts = 0;          ///< texts encoded
  int64_t invalid_bytes = 0;  ///< bytes that were not valid UTF-8 (replaced by U+FFFD)
  int64_t invalid_texts = 0;  ///< texts with at least one invalid byte
  int64_t unk_words = 0;      ///< words that became [UNK]
  int64_t truncated = 0;      ///< texts cut to max_length tokens
  int64_t tokens = 0;         ///< tokens produced, [CLS] and [SEP] included

  TokenizeStats& operator+=(const TokenizeStats& o);
};

/// A WordPiece vocabulary and BERT's basic tokenizer.
class WordPieceTokenizer {
 public:
  /// `vocab[i]` is the token with id i (vocab.txt order). Throws when a special token
  /// ([CLS], [SEP], [PAD], [UNK]) is missing.
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options = {});

  /// Reads `<dir>/vocab.txt` and the normalisation settings of the folder
  /// (tokenizer.json's BertNormalizer, else tokenizer_config.json's do_lower_case /
  /// strip_accents / tokenize_chinese_chars, else uncased when no vocabulary entry has an
  /// upper-case letter). A folder with tokenizer.json but no vocab.txt throws, saying that
  /// vocab.txt is needed.
  static WordPieceTokenizer from_folder(const std::string& dir);

  /// Reads one token per line (the vocab.txt format); `what` names the file in errors.
  static std::vector<std::string> read_vocab(const std::string& path);

  /// Steps 0-5: the words (pieces before WordPiece) of `text`, UTF-8. Special tokens
  /// written in the text come out as themselves.
  std::vector<std::string> basic_tokenize(const std::string& text,
                                          TokenizeStats* stats = nullptr) const;

  /// Step 6 for one word: appends its piece ids to `out` ([UNK] when it cannot be covered).
  /// Returns false when the word became [UNK].
  bool wordpiece(const std::string& word, std::vector<int64_t>& out) const;

  /// The whole pipeline: [CLS] pieces [SEP], at most `max_length` (>= 2) ids.
  std::vector<int64_t> encode(const std::string& text, int64_t max_length,
                              TokenizeStats* stats = nullptr) const;

  /// Token strings of `ids` (for messages and tests).
  std::vector<std::string> tokens(const std::vector<int64_t>& ids) const;

  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  int64_t cls_id() const { return cls_; }
  int64_t sep_id() const { return sep_; }
  int64_t pad_id() const { return pad_; }
  int64_t unk_id() const { return unk_; }
  /// Id of `token`, or -1.
  int64_t id_of(const std::string& token) const;
  const WordPieceOptions& options() const { return options_; }
  /// Whether accents are stripped (strip_accents resolved against lowercase).
  bool strips_accents() const;

 private:
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int64_t> index_;
  WordPieceOptions options_;
  int64_t cls_ = -1, sep_ = -1, pad_ = -1, unk_ = -1;
  std::vector<std::string> specials_;  ///< literal special tokens matched in raw text
};

namespace detail {

/// Decodes UTF-8; every byte that does not start a well-formed sequence (Unicode 15,
/// table 3-7: no overlongs, surrogates or values past U+10FFFF) becomes U+FFFD.
/// Returns the code points; `invalid` receives the number of replaced bytes.
std::vector<char32_t> decode_utf8(const std::string& s, int64_t* invalid = nullptr);

/// Encodes code points as UTF-8.
std::string encode_utf8(const std::vector<char32_t>& cps);
/// Appends one code point as UTF-8.
void append_utf8(std::string& out, char32_t cp);

/// BERT's CJK ideograph ranges.
bool is_cjk(char32_t cp);
/// ASCII punctuation or Unicode category P*.
bool is_punctuation(char32_t cp);
/// White space for BERT (\t \n \r and Unicode White_Space).
bool is_whitespace(char32_t cp);
/// Control for BERT: category C* except \t \n \r.
bool is_control(char32_t cp);

}  // namespace detail

}  // namespace letter::embed
