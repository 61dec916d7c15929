// .safetensors files (MiniLM weights, exported embeddings): JSON header, offsets, dtypes.
#include "fuzz_util.h"
#include "letter/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  const std::string path = fuzz::write_file("x.safetensors", fuzz::as_text(data, size));
  fuzz::run([&] { io::read_safetensors(path); });
  return 0;
}
