#include "letter/common/checkpoint.h"

#include <cstdio>
#include <sstream>

#include "letter/common/error.h"
#include "letter/common/json.h"
#include "letter/common/fs.h"

#include <ATen/CPUGeneratorImpl.h>

namespace letter {

namespace {
constexpr const char* kHeaderKey = "letter_header";
constexpr const char* kRngKey = "letter_cpu_rng";

torch::serialize::InputArchive open_archive(const std::string& path) {
  LETTER_CHECK(path_exists(path), "checkpoint not found: ", path);
  torch::serialize::InputArchive in;
  try {
    in.load_from(path);
  } catch (const c10::Error& e) {
    LETTER_FAIL("checkpoint ", path, " is not readable (corrupt or not a letter checkpoint): ",
                e.what_without_backtrace());
  }
  return in;
}

CheckpointHeader parse_header(torch::serialize::InputArchive& in, const std::string& path) {
  c10::IValue v;
  LETTER_CHECK(in.try_read(kHeaderKey, v) && v.isString(), "checkpoint ", path,
               " has no letter header: it was not written by letter");
  const nlohmann::json j = parse_json(v.toStringRef(), "checkpoint " + path + " header");
  LETTER_CHECK(j.is_object(), "checkpoint ", path, " has a header that is not a JSON object (", j.type_name(),
               "): it was not written by letter");
  // A field of the wrong type is a damaged header, not a reason for nlohmann's type_error;
  // an absent or null field keeps its default.
  using J = nlohmann::json;
  auto typed = [&](const char* key, bool (*ok)(const J&), const char* expected) -> const J* {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    LETTER_CHECK(ok(*it), "checkpoint ", path, " header: '", key, "' is ", it->type_name(), ", expected ", expected,
                 " (damaged file?)");
    return &*it;
  };
  auto is_string = [](const J& v) { return v.is_string(); };
  auto is_object = [](const J& v) { return v.is_object(); };
  CheckpointHeader h;
  h.config = h.state = J::object();
  if (auto* f = typed("format", is_string, "a string")) h.format = f->get<std::string>();
  if (auto* f = typed("version", [](const J& v) { return v.is_number_integer(); }, "an integer"))
    h.version = f->get<int64_t>();
  if (auto* f = typed("tensor_checksum", is_string, "a string")) h.checksum = f->get<std::string>();
  if (auto* f = typed("config", is_object, "an object")) h.config = *f;
  if (auto* f = typed("state", is_object, "an object")) h.state = *f;
  return h;
}
// FNV-1a (64 bit) over the names, shapes and bytes of every parameter and buffer, in
// module order: written into the header and verified on load, so a file whose tensors were
// changed after letter wrote it (by a tool, a disk error inside a stored record) is refused.
std::string tensor_checksum(const torch::nn::Module& model) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  };
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    mix(name.data(), name.size());
    const auto sizes = t.sizes();
    mix(sizes.data(), sizes.size() * sizeof(int64_t));
    const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    mix(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size());
  };
  for (const auto& p : model.named_parameters(true)) add(p.key(), p.value());
  for (const auto& b : model.named_buffers(true)) add(b.key(), b.value());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer, const CheckpointHeader& header) {
  torch::serialize::OutputArchive out;
  model.save(out);
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    out.write("optimizer", opt);
  }
  nlohmann::json j = {{"format", header.format},
                      {"version", header.version},
                      {"config", header.config},
                      {"state", header.state},
                      {"tensor_checksum", tensor_checksum(model)}};
  out.write(kHeaderKey, c10::IValue(dump_json(j)));
  out.write(kRngKey, at::detail::getDefaultCPUGenerator().get_state());
  write_atomic(path, [&](std::ofstream& os) { out.save_to(os); });
}

CheckpointHeader read_checkpoint_header(const std::string& path) {
  auto in = open_archive(path);
  return parse_header(in, path);
}

CheckpointHeader load_checkpoint(const std::string& path, torch::nn::Module& model,
                                 torch::optim::Optimizer* optimizer,
                                 const std::string& expected_format, int64_t expected_version,
                                 bool restore_rng) {
  auto in = open_archive(path);
  CheckpointHeader h = parse_header(in, path);
  LETTER_CHECK(h.format == expected_format, "checkpoint ", path, " holds '", h.format,
               "', expected '", expected_format, "': pass the right file");
  LETTER_CHECK(h.version == expected_version, "checkpoint ", path, " has format version ",
               h.version, ", this letter reads version ", expected_version,
               ": re-run the stage that wrote it");
  // Module::load replaces tensors without comparing shapes: check them ourselves.
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const auto& p : model.named_parameters(true)) shapes.emplace_back(p.key(), p.value().sizes().vec());
  for (const auto& b : model.named_buffers(true)) shapes.emplace_back(b.key(), b.value().sizes().vec());
  try {
    model.load(in);
    if (optimizer) {
      torch::serialize::InputArchive opt;
      LETTER_CHECK(in.try_read("optimizer", opt), "checkpoint ", path,
                   " has no optimizer state, cannot resume from it");
      optimizer->load(opt);
    }
  } catch (const c10::Error& e) {
    LETTER_FAIL("checkpoint ", path, " does not match the model (different sizes in the config?): ",
                e.what_without_backtrace());
  }
  size_t k = 0;
  auto check = [&](const std::string& name, const torch::Tensor& t) {
    LETTER_CHECK(k < shapes.size() && shapes[k].first == name && shapes[k].second == t.sizes().vec(),
                 "checkpoint ", path, " does not match the model: ", name, " has shape ", t.sizes(),
                 " in the file", k < shapes.size() ? " but the model expects " + c10::str(c10::IntArrayRef(shapes[k].second)) : "",
                 " (different sizes in the config?)");
    ++k;
  };
  for (const auto& p : model.named_parameters(true)) check(p.key(), p.value());
  for (const auto& b : model.named_buffers(true)) check(b.key(), b.value());
  // Checkpoints written before the checksum existed have none.
  if (!h.checksum.empty())
    LETTER_CHECK(tensor_checksum(model) == h.checksum, "checkpoint ", path,
                 ": the tensors do not match the checksum letter wrote with them (the file was changed "
                 "or damaged after it was saved)");
  // Buffers may hold infinities on purpose (masks); parameters never do.
  for (const auto& p : model.named_parameters(true))
    LETTER_CHECK(!p.value().is_floating_point() || torch::isfinite(p.value()).all().item<bool>(), "checkpoint ", path,
                 ": parameter ", p.key(), " holds NaN or infinite values (a corrupt file, or a run that had "
                 "diverged when it was saved)");
  if (restore_rng) {
    torch::Tensor rng;
    if (in.try_read(kRngKey, rng)) {
      at::Generator gen = at::detail::getDefaultCPUGenerator();  // shares the global state
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng);
    }
  }
  return h;
}

}  // namespace letter

namespace letter {

void check_resume_config(const nlohmann::json& saved, const nlohmann::json& now,
                         const std::vector<std::string>& may_change, const std::string& path) {
  std::vector<std::string> diff;
  auto allowed = [&](const std::string& key) {
    return std::find(may_change.begin(), may_change.end(), key) != may_change.end();
  };
  for (auto it = now.begin(); it != now.end(); ++it) {
    if (!saved.contains(it.key())) continue;
    const auto& old = saved[it.key()];
    if (it.value().is_object() && old.is_object()) {
      for (auto f = it.value().begin(); f != it.value().end(); ++f) {
        const std::string key = it.key() + "." + f.key();
        if (old.contains(f.key()) && old[f.key()] != f.value() && !allowed(key)) diff.push_back(key);
      }
    } else if (old != it.value() && !allowed(it.key())) {
      diff.push_back(it.key());
    }
  }
  if (diff.empty()) return;
  std::string keys;
  for (const auto& k : diff) keys += (keys.empty() ? "" : ", ") + k;
  std::string free;
  for (const auto& k : may_change) free += (free.empty() ? "" : ", ") + k;
  throw UsageError(detail::concat("--resume: ", keys, " differ from the interrupted run's config (", path, ")",
                                  free.empty() ? "" : "; only " + free + " may change",
                                  "; resume with the run's config.json or start a new run in another --out"));
}

std::vector<torch::Tensor> snapshot_parameters(const torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

void restore_parameters(torch::nn::Module& m, const std::vector<torch::Tensor>& snapshot) {
  torch::NoGradGuard g;
  auto params = m.parameters();
  LETTER_CHECK(params.size() == snapshot.size(), "internal: snapshot of ", snapshot.size(), " tensors for ",
               params.size(), " parameters");
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(snapshot[i]);
}

}  // namespace letter
