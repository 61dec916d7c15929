// Checkpoints: arbitrary bytes as a checkpoint file (first byte even), or a well-formed
// LibTorch archive whose letter header JSON is the input (first byte odd), read as the header
// and loaded into a small module.
#include "fuzz_util.h"
#include "letter/common/checkpoint.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  if (size == 0) return 0;
  torch::nn::Linear model(3, 2);
  const std::string path = (fuzz::scratch() / "x.pt").string();
  if (data[0] & 1) {
    torch::serialize::OutputArchive out;
    model->save(out);
    out.write("letter_header", c10::IValue(std::string(fuzz::as_text(data + 1, size - 1))));
    out.save_to(path);
  } else {
    fuzz::write_file("x.pt", fuzz::as_text(data + 1, size - 1));
  }
  fuzz::run([&] { read_checkpoint_header(path); });
  fuzz::run([&] { load_checkpoint(path, *model, nullptr, "letter.fuzz", 1); });
  return 0;
}
