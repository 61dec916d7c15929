// WordPiece (BERT's basic tokenizer + greedy longest-match) on arbitrary bytes; the first
// byte picks the normalisation options.
#include "fuzz_util.h"
#include "letter/embed/wordpiece.h"

namespace {
std::vector<std::string> vocab() {
  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (const char* w : {"the", "a", "lip", "##stick", "##s", "red", "cafe", "café", "##é", "東", "京",
                        "!", ",", ".", "##ing", "shampoo", "un", "##known", "x", "##x"})
    v.push_back(w);
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  using namespace letter::embed;
  if (size == 0) return 0;
  WordPieceOptions o;
  o.lowercase = data[0] & 1;
  o.strip_accents = static_cast<int>((data[0] >> 1) % 3) - 1;
  o.clean_text = data[0] & 8;
  o.handle_chinese_chars = data[0] & 16;
  o.max_chars_per_word = (data[0] & 32) ? 100 : 3;
  static const WordPieceTokenizer* variants[64] = {};
  const WordPieceTokenizer*& t = variants[data[0] & 63];
  if (!t) t = new WordPieceTokenizer(vocab(), o);
  const std::string text(fuzz::as_text(data + 1, size - 1));
  fuzz::run([&] {
    TokenizeStats st;
    const auto ids = t->encode(text, 512, &st);
    if (ids.size() < 2 || ids.size() > 512 || ids.front() != t->cls_id() || ids.back() != t->sep_id()) __builtin_trap();
    for (auto id : ids)
      if (id < 0 || id >= t->vocab_size()) __builtin_trap();
    t->tokens(ids);
  });
  return 0;
}
