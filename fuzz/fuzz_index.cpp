// Item code tables read against a dataset (data/tiny): LETTER's index.json, or codes.npy
// (first byte: odd = .npy, even = .index.json).
#include "fuzz_util.h"
#include "letter/data/codes.h"

namespace {
letter::Dataset* tiny = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  letter::DataOptions opt;
  opt.path = std::string(LETTER_SOURCE_DIR) + "/data/tiny";
  tiny = new letter::Dataset(letter::load_dataset(opt));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  if (size == 0) return 0;
  const std::string path = fuzz::write_file((data[0] & 1) ? "x.npy" : "x.index.json", fuzz::as_text(data + 1, size - 1));
  fuzz::run([&] { load_item_codes(path, *tiny); });
  return 0;
}
