// Item code tables read against a dataset (data/tiny): LETTER's index.json, or codes.npy
// (first byte: odd = .npy, even = .index.json).
#include "fuzz_util.h"
#include "letter/data/codes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  if (size == 0) return 0;
  const std::string path = fuzz::write_file((data[0] & 1) ? "x.npy" : "x.index.json", fuzz::as_text(data + 1, size - 1));
  fuzz::run([&] { load_item_codes(path, fuzz::tiny()); });
  return 0;
}
