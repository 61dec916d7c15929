// CSV / TSV interaction files (first byte picks the extension: odd = .tsv, even = .csv).
#include "fuzz_util.h"
#include "letter/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  if (size == 0) return 0;
  const std::string name = (data[0] & 1) ? "x.tsv" : "x.csv";
  DataOptions opt;
  opt.path = fuzz::write_file(name, fuzz::as_text(data + 1, size - 1));
  opt.kcore = 0;
  fuzz::run([&] { load_dataset(opt); });
  return 0;
}
