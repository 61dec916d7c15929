// .npy files (item embeddings, CF vectors, codes.npy): header and payload.
#include "fuzz_util.h"
#include "letter/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  const std::string path = fuzz::write_file("x.npy", fuzz::as_text(data, size));
  fuzz::run([&] { io::read_npy_header(path); });
  fuzz::run([&] { io::read_npy(path); });
  return 0;
}
