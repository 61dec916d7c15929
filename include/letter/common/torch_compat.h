// The few places where LibTorch 1.13 (Debian, CPU) and LibTorch 2.x (PyTorch wheels, CUDA)
// differ. Everything version-dependent goes through this header.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>

#define LETTER_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||         \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace letter::compat {

/// "1.13.1" etc.
inline std::string torch_version() { return TORCH_VERSION; }

/// True when this LibTorch was built with CUDA and a device is visible.
inline bool cuda_available() { return torch::cuda::is_available(); }

/// Number of visible CUDA devices (0 on CPU-only builds).
inline int64_t cuda_device_count() { return static_cast<int64_t>(torch::cuda::device_count()); }

/// Whether bfloat16 matrix products run in hardware on `device`: CUDA, or a CPU with AMX or
/// AVX512-BF16 (read from /proc/cpuinfo once). Elsewhere LibTorch emulates them, slower
/// than float32.
inline bool fast_bf16(const torch::Device& device) {
  if (device.is_cuda()) return true;
  static const bool cpu = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line);
      std::string w;
      while (words >> w)
        if (w == "amx_bf16" || w == "avx512_bf16") return true;
      return false;
    }
    return false;
  }();
  return cpu;
}

/// RAII bf16 autocast on `device`'s type (no-op when `enable` is false): matrix products
/// (mm, addmm, bmm, matmul, linear) run in bfloat16, reductions and losses as the autocast
/// lists of this LibTorch say. The autocast API moved from per-type functions (1.x-2.3) to
/// device-type arguments (2.4+).
class Autocast {
 public:
  Autocast(const torch::Device& device, bool enable) : Autocast(device, enable, /*bf16=*/true) {}
  /// Autocast switched off on `device`'s type for the scope: float32 products inside an
  /// autocast region (a no-op outside one).
  static Autocast off(const torch::Device& device) { return Autocast(device, true, /*bf16=*/false); }
  ~Autocast() {
    if (!active_) return;
    if (nested_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(cuda_, prev_);
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  struct State {
    bool enabled = false;
    at::ScalarType dtype = at::kFloat;
  };
  Autocast(const torch::Device& device, bool active, bool bf16) {
    if (!active) return;
    active_ = true;
    cuda_ = device.is_cuda();
    prev_ = get(cuda_);
    set(cuda_, {bf16, bf16 ? at::kBFloat16 : prev_.dtype});
    nested_ = bf16;
    if (nested_) at::autocast::increment_nesting();
  }
  // The one place where the two autocast APIs differ.
  static State get(bool cuda) {
#if LETTER_TORCH_AT_LEAST(2, 4)
    const auto type = cuda ? at::kCUDA : at::kCPU;
    return {at::autocast::is_autocast_enabled(type), at::autocast::get_autocast_dtype(type)};
#else
    if (cuda) return {at::autocast::is_enabled(), at::autocast::get_autocast_gpu_dtype()};
    return {at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype()};
#endif
  }
  static void set(bool cuda, const State& s) {
#if LETTER_TORCH_AT_LEAST(2, 4)
    const auto type = cuda ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(type, s.dtype);
    at::autocast::set_autocast_enabled(type, s.enabled);
#else
    if (cuda) {
      at::autocast::set_autocast_gpu_dtype(s.dtype);
      at::autocast::set_enabled(s.enabled);
    } else {
      at::autocast::set_autocast_cpu_dtype(s.dtype);
      at::autocast::set_cpu_enabled(s.enabled);
    }
#endif
  }

  bool active_ = false;
  bool cuda_ = false;
  bool nested_ = false;
  State prev_;
};

/// Key of a parameter in torch::optim::Optimizer::state(): LibTorch 1.x uses the string
/// form of the TensorImpl pointer (c10::guts::to_string, i.e. ostream <<), 2.x the pointer.
template <class Opt>  // a template so that only the branch for this LibTorch is instantiated
auto optimizer_state_key(const Opt& opt, const torch::Tensor& p) {
  using Key = typename std::decay_t<decltype(opt.state())>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace letter::compat
