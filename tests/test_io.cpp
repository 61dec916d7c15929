// Tests for letter::io: .npy and .safetensors readers and writers.
//
// Expected bytes come from the format specifications: numpy/lib/format.py (magic
// "\x93NUMPY", u16/u32 LE header length, dict literal padded with spaces to a 64-byte
// boundary ending in '\n'; np.save of a small 1-D or 2-D array has header length 118 =
// 'v') and the safetensors README (u64 LE header length, compact JSON padded with spaces
// to a multiple of 8). IEEE bit patterns were computed with Python's struct module
// (struct.pack('<f', 0.1) == cd cc cc 3d, struct.pack('<e', 65504.0) == ff 7b).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "letter/common/error.h"
#include "letter/io/npy.h"
#include "letter/io/safetensors.h"

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------
// Helpers

/// Each test gets a fresh folder under the GoogleTest temp dir, removed afterwards.
class IoTempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("letter_io_" + std::to_string(::getpid()) + "_" +
                                             info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  /// Names of all entries in the test folder (to catch leftover temporary files).
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

class NpyTest : public IoTempDir {};
class SafetensorsTest : public IoTempDir {};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Bytes from a hex string such as "0000803f".
std::string hex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string le(uint64_t v, int width) {
  std::string out;
  for (int i = 0; i < width; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

/// Raw bytes of a tensor's elements in C order.
std::string tensor_bytes(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()),
                     static_cast<size_t>(c.numel() * static_cast<int64_t>(c.element_size())));
}

/// Same dtype, same shape, bit-identical data (NaN payloads and -0.0 included).
void expect_identical(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_TRUE(actual.defined());
  EXPECT_EQ(actual.scalar_type(), expected.scalar_type());
  EXPECT_EQ(actual.sizes().vec(), expected.sizes().vec());
  EXPECT_EQ(actual.device().type(), torch::kCPU);
  if (actual.scalar_type() == expected.scalar_type() && actual.sizes() == expected.sizes()) {
    EXPECT_TRUE(tensor_bytes(actual) == tensor_bytes(expected))
        << "data differs; actual " << actual << " expected " << expected;
  }
}

/// Runs `fn`, expecting a letter::Error whose message contains every one of `needles`.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected letter::Error containing \"" << needles.front()
                  << "\", nothing thrown";
  } catch (const letter::Error& e) {
    const std::string msg = e.what();
    for (const std::string& n : needles) {
      EXPECT_NE(msg.find(n), std::string::npos)
          << "message \"" << msg << "\" lacks \"" << n << "\"";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected letter::Error, got another exception: " << e.what();
  }
}

/// A .npy file the way numpy builds it: magic, version, header length (u16 for 1.0, u32
/// otherwise), `dict` padded with spaces to a multiple of `align` ending in '\n', `data`.
std::string npy_file(int major, const std::string& dict, const std::string& data,
                     size_t align = 64) {
  const size_t width = major == 1 ? 2 : 4;
  const size_t hlen = dict.size() + 1;
  const size_t pad = align - (8 + width + hlen) % align;
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  out += le(hlen + pad, static_cast<int>(width));
  out += dict + std::string(pad, ' ') + "\n" + data;
  return out;
}

/// Deterministic values of `dtype` with the given shape, exercising signs, fractions and
/// high bytes.
torch::Tensor sample(torch::ScalarType dtype, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const torch::Tensor i = torch::arange(n, torch::kInt64);
  torch::Tensor v;
  switch (dtype) {
    case torch::kBool:
      v = (i % 3) == 0;
      break;
    case torch::kUInt8:
      v = (i * 37 + 200) % 256;
      break;
    case torch::kInt8:
      v = (i * 37) % 256 - 128;
      break;
    case torch::kInt16:
      v = i * 1001 - 30000;
      break;
    case torch::kInt32:
      v = i * 50000017 - 600000000;
      break;
    case torch::kInt64:
      v = i * (int64_t{1} << 40) - (int64_t{1} << 42) + 123;
      break;
    default:  // floating point
      v = i.to(torch::kFloat64) * 0.37 - 3.3;
      break;
  }
  return v.to(dtype).reshape(shape);
}

const std::vector<std::vector<int64_t>> kShapes = {{}, {5}, {2, 3, 4}, {0, 4}};

std::string shape_name(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (int64_t d : shape) s += std::to_string(d) + ",";
  return s + ")";
}

/// All 65536 16-bit patterns, viewed as `dtype` (float16 or bfloat16).
torch::Tensor all_16bit_patterns(torch::ScalarType dtype) {
  return torch::arange(-32768, 32768, torch::kInt32).to(torch::kInt16).view(dtype);
}

// ---------------------------------------------------------------------------------------
// .npy: round trips

struct NpyDtype {
  torch::ScalarType type;
  const char* descr;
};
const std::vector<NpyDtype> kNpyDtypes = {
    {torch::kFloat32, "<f4"}, {torch::kFloat16, "<f2"}, {torch::kFloat64, "<f8"},
    {torch::kInt64, "<i8"},   {torch::kInt32, "<i4"},   {torch::kInt16, "<i2"},
    {torch::kBool, "|b1"},    {torch::kUInt8, "|u1"},   {torch::kInt8, "|i1"},
};

TEST_F(NpyTest, RoundTripEveryDtypeAndShape) {
  for (const NpyDtype& dt : kNpyDtypes) {
    for (const auto& shape : kShapes) {
      SCOPED_TRACE(std::string(dt.descr) + " shape " + shape_name(shape));
      const torch::Tensor t = sample(dt.type, shape);
      const std::string p = path("a.npy");
      letter::io::write_npy(p, t);
      expect_identical(letter::io::read_npy(p), t);

      const letter::io::NpyHeader h = letter::io::read_npy_header(p);
      EXPECT_EQ(h.descr, dt.descr);
      EXPECT_FALSE(h.fortran_order);
      EXPECT_EQ(h.shape, shape);
      EXPECT_EQ(h.data_offset % 64, 0);
      EXPECT_EQ(static_cast<int64_t>(fs::file_size(p)),
                h.data_offset + t.numel() * static_cast<int64_t>(t.element_size()));
    }
  }
  EXPECT_EQ(listing(), std::vector<std::string>{"a.npy"});
}

TEST_F(NpyTest, RoundTripSampleValuesExact) {
  // Guards against sample() producing trivial data: spot-check a few written values.
  const torch::Tensor t = sample(torch::kInt64, {2, 3, 4});
  letter::io::write_npy(path("x.npy"), t);
  const torch::Tensor r = letter::io::read_npy(path("x.npy"));
  EXPECT_EQ(r[0][0][0].item<int64_t>(), -(int64_t{1} << 42) + 123);
  EXPECT_EQ(r[1][2][3].item<int64_t>(), 23 * (int64_t{1} << 40) - (int64_t{1} << 42) + 123);
  const torch::Tensor f = sample(torch::kFloat32, {5});
  letter::io::write_npy(path("f.npy"), f);
  EXPECT_EQ(letter::io::read_npy(path("f.npy"))[4].item<float>(),
            static_cast<float>(4 * 0.37 - 3.3));
}

TEST_F(NpyTest, Float16AllBitPatternsRoundTripExactly) {
  const torch::Tensor t = all_16bit_patterns(torch::kFloat16);
  letter::io::write_npy(path("h.npy"), t);
  const torch::Tensor r = letter::io::read_npy(path("h.npy"));
  ASSERT_EQ(r.scalar_type(), torch::kFloat16);
  EXPECT_TRUE(torch::equal(r.view(torch::kInt16), t.view(torch::kInt16)));
}

TEST_F(NpyTest, SpecialFloatValuesRoundTripExactly) {
  const float inf = std::numeric_limits<float>::infinity();
  const torch::Tensor t =
      torch::tensor({0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                     std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()});
  letter::io::write_npy(path("s.npy"), t);
  expect_identical(letter::io::read_npy(path("s.npy")), t);
}

// ---------------------------------------------------------------------------------------
// .npy: exact bytes as numpy writes them

TEST_F(NpyTest, WriterMatchesNumpyBytes) {
  // np.save(f, np.array([1, -2, 1 << 40], dtype='<i8')) with numpy 1.x.
  const std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  const std::string expected = std::string("\x93NUMPY\x01\x00v\x00", 10) + dict +
                               std::string(60, ' ') + "\n" + hex("0100000000000000") +
                               hex("feffffffffffffff") + hex("0000000000010000");
  ASSERT_EQ(expected.size(), 128u + 24u);
  letter::io::write_npy(path("i.npy"), torch::tensor({int64_t{1}, int64_t{-2}, int64_t{1} << 40}));
  EXPECT_TRUE(read_bytes(path("i.npy")) == expected);
}

TEST_F(NpyTest, WriterHeaderForScalarAndBool) {
  // np.save(f, np.bool_(True)): descr '|b1', shape (), one byte.
  const std::string dict = "{'descr': '|b1', 'fortran_order': False, 'shape': (), }";
  const std::string expected = npy_file(1, dict, std::string(1, '\x01'));
  ASSERT_EQ(expected.size(), 129u);
  letter::io::write_npy(path("b.npy"), torch::tensor(true));
  EXPECT_TRUE(read_bytes(path("b.npy")) == expected);
}

TEST_F(NpyTest, EncodeHeaderAlignsTo64AndSwitchesToVersion2) {
  for (size_t ndim = 0; ndim < 40; ++ndim) {
    const std::vector<int64_t> shape(ndim, 7);
    const std::string h = letter::io::detail::encode_npy_header("<f4", shape);
    SCOPED_TRACE("ndim " + std::to_string(ndim));
    EXPECT_EQ(h.size() % 64, 0u);
    EXPECT_EQ(h[6], '\x01');
    EXPECT_EQ(h.back(), '\n');
    EXPECT_EQ(static_cast<size_t>(static_cast<unsigned char>(h[8]) |
                                  (static_cast<unsigned char>(h[9]) << 8)),
              h.size() - 10);
  }
  // A header longer than 65535 bytes needs version 2.0 (u32 length, 12-byte preamble).
  const std::vector<int64_t> many(30000, 1);
  const std::string h = letter::io::detail::encode_npy_header("<f4", many);
  ASSERT_GT(h.size(), 65536u);
  EXPECT_EQ(h[6], '\x02');
  EXPECT_EQ(h[7], '\0');
  EXPECT_EQ(h.size() % 64, 0u);
  uint64_t len = 0;
  for (int i = 0; i < 4; ++i) len |= uint64_t{static_cast<unsigned char>(h[8 + i])} << (8 * i);
  EXPECT_EQ(len, h.size() - 12);
  EXPECT_EQ(h.compare(12, 11, "{'descr': '"), 0);
  EXPECT_EQ(h.back(), '\n');
}

// ---------------------------------------------------------------------------------------
// .npy: reading hand-written numpy files

TEST_F(NpyTest, ReadsHandWrittenFloat32Matrix) {
  // np.save(f, np.array([[1, -1.5, 0.1], [4, 5, 6]], dtype='<f4')), numpy 1.x:
  // header length 118 ('v'), dict of 59 chars + 58 spaces + '\n', data at byte 128.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(dict.size(), 59u);
  const std::string bytes = std::string("\x93NUMPY\x01\x00v\x00", 10) + dict +
                            std::string(58, ' ') + "\n" +
                            hex("0000803f0000c0bfcdcccc3d000080400000a0400000c040");
  ASSERT_EQ(bytes.size(), 128u + 24u);
  write_bytes(path("m.npy"), bytes);

  const torch::Tensor t = letter::io::read_npy(path("m.npy"));
  ASSERT_EQ(t.scalar_type(), torch::kFloat32);
  ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 3}));
  const float expected[2][3] = {{1.0f, -1.5f, 0.1f}, {4.0f, 5.0f, 6.0f}};
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(t[r][c].item<float>(), expected[r][c]) << "at (" << r << ", " << c << ")";
    }
  }
  const letter::io::NpyHeader h = letter::io::read_npy_header(path("m.npy"));
  EXPECT_EQ(h.descr, "<f4");
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(h.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h.data_offset, 128);
}

TEST_F(NpyTest, ReadsHandWrittenFloat16BitsExactly) {
  // 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal = 0x0001,
  // +inf = 0x7c00, NaN = 0x7e00 (IEEE 754 binary16).
  const std::string data = hex("003c00c0ff7b0100007c007e");
  write_bytes(path("h.npy"),
              npy_file(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (6,), }", data));
  const torch::Tensor t = letter::io::read_npy(path("h.npy"));
  ASSERT_EQ(t.scalar_type(), torch::kFloat16);
  EXPECT_TRUE(tensor_bytes(t) == data);
  const torch::Tensor f = t.to(torch::kFloat32);
  EXPECT_EQ(f[0].item<float>(), 1.0f);
  EXPECT_EQ(f[1].item<float>(), -2.0f);
  EXPECT_EQ(f[2].item<float>(), 65504.0f);
  EXPECT_EQ(f[3].item<float>(), 5.9604644775390625e-08f);  // 2^-24
  EXPECT_TRUE(std::isinf(f[4].item<float>()));
  EXPECT_TRUE(std::isnan(f[5].item<float>()));
}

TEST_F(NpyTest, ReadsHandWrittenScalarsAndBytes) {
  // 0-d int32 -7, 0-d uint8 250, int8 [-128, 127], bool [True, False, True].
  write_bytes(path("i4.npy"), npy_file(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }",
                                       hex("f9ffffff")));
  const torch::Tensor i4 = letter::io::read_npy(path("i4.npy"));
  EXPECT_EQ(i4.dim(), 0);
  EXPECT_EQ(i4.scalar_type(), torch::kInt32);
  EXPECT_EQ(i4.item<int32_t>(), -7);

  write_bytes(path("u1.npy"),
              npy_file(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }", hex("fa")));
  const torch::Tensor u1 = letter::io::read_npy(path("u1.npy"));
  EXPECT_EQ(u1.scalar_type(), torch::kUInt8);
  EXPECT_EQ(u1.item<uint8_t>(), 250);

  write_bytes(
      path("i1.npy"),
      npy_file(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", hex("807f")));
  const torch::Tensor i1 = letter::io::read_npy(path("i1.npy"));
  EXPECT_EQ(i1.scalar_type(), torch::kInt8);
  EXPECT_EQ(i1[0].item<int8_t>(), -128);
  EXPECT_EQ(i1[1].item<int8_t>(), 127);

  write_bytes(
      path("b1.npy"),
      npy_file(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", hex("010001")));
  const torch::Tensor b1 = letter::io::read_npy(path("b1.npy"));
  EXPECT_EQ(b1.scalar_type(), torch::kBool);
  EXPECT_TRUE(torch::equal(b1, torch::tensor({true, false, true})));
}

TEST_F(NpyTest, ReadsFloat64AndEmpty) {
  // 0.1 as double = 0x3fb999999999999a.
  write_bytes(path("d.npy"),
              npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }",
                       hex("9a9999999999b93f")));
  const torch::Tensor d = letter::io::read_npy(path("d.npy"));
  EXPECT_EQ(d.scalar_type(), torch::kFloat64);
  EXPECT_EQ(d[0][0].item<double>(), 0.1);

  write_bytes(path("e.npy"),
              npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", ""));
  const torch::Tensor e = letter::io::read_npy(path("e.npy"));
  EXPECT_EQ(e.sizes().vec(), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(e.scalar_type(), torch::kFloat32);
}

TEST_F(NpyTest, ReadsVersion2And3) {
  const std::string data = hex("0000803f0000c0bf");
  for (int major : {2, 3}) {
    SCOPED_TRACE("version " + std::to_string(major) + ".0");
    const std::string bytes =
        npy_file(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data);
    ASSERT_EQ(bytes.size(), 128u + 8u);
    write_bytes(path("v.npy"), bytes);
    const torch::Tensor t = letter::io::read_npy(path("v.npy"));
    EXPECT_EQ(t[0].item<float>(), 1.0f);
    EXPECT_EQ(t[1].item<float>(), -1.5f);
    EXPECT_EQ(letter::io::read_npy_header(path("v.npy")).data_offset, 128);
  }
}

TEST_F(NpyTest, ReadsHeaderVariantsOtherWritersProduce) {
  const std::string data = hex("0100000002000000");  // int32 [1, 2]
  const std::vector<std::string> dicts = {
      // Keys in another order, double quotes, no trailing comma.
      "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<i4\"}",
      // Python 2 numpy: longs with an 'L' suffix, u'' strings.
      "{'descr': u'<i4', 'fortran_order': False, 'shape': (2L,), }",
      // numpy >= 1.24 growth padding: extra spaces after the dict.
      "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }                     ",
      // Native byte order '='.
      "{'descr': '=i4', 'fortran_order': False, 'shape': (2,), }",
  };
  for (const std::string& dict : dicts) {
    SCOPED_TRACE(dict);
    write_bytes(path("v.npy"), npy_file(1, dict, data));
    const torch::Tensor t = letter::io::read_npy(path("v.npy"));
    EXPECT_TRUE(torch::equal(t, torch::tensor({1, 2}, torch::kInt32)));
  }
  // Old numpy aligned to 16 bytes, not 64.
  write_bytes(path("old.npy"),
              npy_file(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data, 16));
  EXPECT_EQ(letter::io::read_npy_header(path("old.npy")).data_offset, 80);
  EXPECT_TRUE(
      torch::equal(letter::io::read_npy(path("old.npy")), torch::tensor({1, 2}, torch::kInt32)));
}

TEST_F(NpyTest, BoolBytesOtherThanOneReadAsTrue) {
  write_bytes(
      path("b.npy"),
      npy_file(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", hex("000702")));
  const torch::Tensor b = letter::io::read_npy(path("b.npy"));
  EXPECT_TRUE(torch::equal(b, torch::tensor({false, true, true})));
  EXPECT_EQ(tensor_bytes(b), hex("000101"));
}

// ---------------------------------------------------------------------------------------
// .npy: rejected inputs

TEST_F(NpyTest, TruncatedFilesThrowNamingThePath) {
  letter::io::write_npy(path("full.npy"), torch::arange(6, torch::kFloat32).reshape({2, 3}));
  const std::string full = read_bytes(path("full.npy"));
  ASSERT_EQ(full.size(), 152u);
  for (size_t cut : {0, 3, 6, 8, 9, 10, 11, 60, 127, 128, 140, 151}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    const std::string p = path("cut" + std::to_string(cut) + ".npy");
    write_bytes(p, full.substr(0, cut));
    expect_error([&] { letter::io::read_npy(p); }, {p, "truncated"});
  }
  const std::string p = path("cut140.npy");
  expect_error([&] { letter::io::read_npy(p); },
               {"needs 24 bytes after the header, but the file has 12"});
}

TEST_F(NpyTest, TrailingBytesAreRejected) {
  letter::io::write_npy(path("a.npy"), torch::arange(3, torch::kInt32));
  write_bytes(path("a.npy"), read_bytes(path("a.npy")) + "xx");
  expect_error([&] { letter::io::read_npy(path("a.npy")); },
               {path("a.npy"), "2 unexpected trailing bytes", "needs 12 bytes"});
}

TEST_F(NpyTest, BadMagicIsRejected) {
  const std::string good =
      npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", hex("0000803f"));
  std::string bad = good;
  bad[5] = 'X';  // "\x93NUMPX"
  write_bytes(path("bad.npy"), bad);
  expect_error([&] { letter::io::read_npy(path("bad.npy")); },
               {path("bad.npy"), "bad magic", "NUMPX"});
  expect_error([&] { letter::io::read_npy_header(path("bad.npy")); }, {"bad magic"});

  write_bytes(path("png.npy"), "\x89PNG\r\n\x1a\n and more bytes");
  expect_error([&] { letter::io::read_npy(path("png.npy")); }, {path("png.npy"), "bad magic"});

  write_bytes(path("short.npy"), "PK");
  expect_error([&] { letter::io::read_npy(path("short.npy")); }, {"bad magic"});
}

TEST_F(NpyTest, UnsupportedVersionIsRejected) {
  std::string bytes =
      npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", hex("0000803f"));
  bytes[6] = '\x04';
  write_bytes(path("v4.npy"), bytes);
  expect_error([&] { letter::io::read_npy(path("v4.npy")); }, {path("v4.npy"), "version 4.0"});
  bytes[6] = '\x01';
  bytes[7] = '\x01';
  write_bytes(path("v11.npy"), bytes);
  expect_error([&] { letter::io::read_npy(path("v11.npy")); }, {"version 1.1"});
}

TEST_F(NpyTest, FortranOrderIsRejectedByReadButReportedByHeader) {
  write_bytes(path("f.npy"),
              npy_file(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                       std::string(16, '\0')));
  expect_error([&] { letter::io::read_npy(path("f.npy")); }, {path("f.npy"), "fortran_order"});
  const letter::io::NpyHeader h = letter::io::read_npy_header(path("f.npy"));
  EXPECT_TRUE(h.fortran_order);
  EXPECT_EQ(h.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(h.descr, "<f4");
}

TEST_F(NpyTest, UnsupportedDtypesAreRejected) {
  for (const std::string descr : {"<c8", "<U5", "|O", "<u2", "<u8", "f4", "<f16", "<M8[ns]"}) {
    SCOPED_TRACE(descr);
    write_bytes(path("u.npy"),
                npy_file(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }",
                         std::string(8, '\0')));
    expect_error([&] { letter::io::read_npy(path("u.npy")); },
                 {path("u.npy"), "unsupported .npy dtype '" + descr + "'"});
    EXPECT_EQ(letter::io::read_npy_header(path("u.npy")).descr, descr);
  }
}

TEST_F(NpyTest, BigEndianIsRejected) {
  for (const std::string descr : {">f4", ">i8", ">f2"}) {
    SCOPED_TRACE(descr);
    write_bytes(path("be.npy"),
                npy_file(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }",
                         std::string(descr == ">f2"   ? 2
                                     : descr == ">f4" ? 4
                                                      : 8,
                                     '\0')));
    expect_error([&] { letter::io::read_npy(path("be.npy")); },
                 {path("be.npy"), "big-endian", descr});
  }
  // One-byte types have no byte order, so '>u1' is the same as '|u1'.
  write_bytes(path("u1.npy"),
              npy_file(1, "{'descr': '>u1', 'fortran_order': False, 'shape': (1,), }", "\x05"));
  EXPECT_EQ(letter::io::read_npy(path("u1.npy")).item<uint8_t>(), 5);
}

TEST_F(NpyTest, MalformedHeadersAreRejected) {
  const std::string d = "'descr': '<f4', ";
  const std::string f = "'fortran_order': False, ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "expected '{'"},
      {"{", "expected a quoted string"},
      {"[1, 2]", "expected '{'"},
      {"{" + d + f + "}", "missing key 'shape'"},
      {"{" + f + "'shape': (1,), }", "missing key 'descr'"},
      {"{" + d + "'shape': (1,), }", "missing key 'fortran_order'"},
      {"{" + d + f + "'shape': (1,), 'extra': 1, }", "unexpected key 'extra'"},
      {"{" + d + d + f + "'shape': (1,), }", "duplicate key 'descr'"},
      {"{'descr': <f4, " + f + "'shape': (1,), }", "expected a quoted string"},
      {"{'descr': '<f4, " + f + "'shape': (1,), }", "expected ',' or '}'"},
      {"{'descr': '<f4", "unterminated string"},
      {"{'descr': '<f\\4', " + f + "'shape': (1,), }", "escape sequences"},
      {"{'descr': [('a', '<f4')], " + f + "'shape': (1,), }", "structured dtypes"},
      {"{" + d + "'fortran_order': 0, 'shape': (1,), }", "True or False"},
      {"{" + d + "'fortran_order': Falsey, 'shape': (1,), }", "expected ',' or '}'"},
      {"{" + d + f + "'shape': (1), }", "not a tuple"},
      {"{" + d + f + "'shape': [1], }", "must be a tuple"},
      {"{" + d + f + "'shape': 1, }", "must be a tuple"},
      {"{" + d + f + "'shape': (-1,), }", "negative dimension"},
      {"{" + d + f + "'shape': (1, a), }", "expected an integer"},
      {"{" + d + f + "'shape': (1 2), }", "expected ',' or ')'"},
      {"{" + d + f + "'shape': (1,", "expected an integer"},
      {"{" + d + f + "'shape': (99999999999999999999,), }", "does not fit in int64"},
      {"{" + d + f + "'shape': (1,), } junk", "unexpected text after"},
      {"{" + d + f + "'shape': (1,) 'x' }", "expected ',' or '}'"},
  };
  for (const auto& [dict, needle] : cases) {
    SCOPED_TRACE(dict);
    write_bytes(path("m.npy"), npy_file(1, dict, std::string(4, '\0')));
    expect_error([&] { letter::io::read_npy(path("m.npy")); },
                 {path("m.npy"), "malformed .npy header", needle});
    expect_error([&] { letter::io::read_npy_header(path("m.npy")); }, {needle});
  }
  // 65 dimensions: more than numpy itself allows.
  std::string dims;
  for (int i = 0; i < 65; ++i) dims += "1, ";
  write_bytes(path("d.npy"),
              npy_file(1, "{" + d + f + "'shape': (" + dims + "), }", std::string(4, '\0')));
  expect_error([&] { letter::io::read_npy(path("d.npy")); }, {"more than 64 dimensions"});
}

TEST_F(NpyTest, HeaderLengthBeyondFileIsRejected) {
  write_bytes(path("h.npy"), std::string("\x93NUMPY\x01\x00\xff\xff{'descr'", 17));
  expect_error([&] { letter::io::read_npy(path("h.npy")); },
               {path("h.npy"), "header length is 65535 bytes but only 7 bytes follow"});
  write_bytes(path("h2.npy"), std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14));
  expect_error([&] { letter::io::read_npy(path("h2.npy")); },
               {"header length is 4294967295 bytes but only 2 bytes follow"});
}

TEST_F(NpyTest, HugeShapesFailWithoutAllocating) {
  // Overflowing byte count.
  write_bytes(path("o.npy"), npy_file(1,
                                      "{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (4611686018427387904, 4), }",
                                      std::string(16, '\0')));
  expect_error([&] { letter::io::read_npy(path("o.npy")); }, {path("o.npy"), "too large"});
  // Representable but far larger than the file: 4 TB claimed, 16 bytes present.
  write_bytes(path("t.npy"),
              npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000), }",
                       std::string(16, '\0')));
  expect_error([&] { letter::io::read_npy(path("t.npy")); },
               {"needs 4000000000000 bytes after the header, but the file has 16"});
  // Zero-sized but with huge other dimensions: strides would overflow int64.
  write_bytes(path("z.npy"), npy_file(1,
                                      "{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (0, 4611686018427387904, 4611686018427387904), }",
                                      ""));
  expect_error([&] { letter::io::read_npy(path("z.npy")); }, {"too large"});
}

TEST_F(NpyTest, RandomCorruptionThrowsOnlyLetterError) {
  // Seeded byte flips and cuts of a valid file: every outcome is a tensor or a
  // letter::Error, never another exception or a crash (run under ASan to check reads).
  letter::io::write_npy(path("ok.npy"), sample(torch::kFloat32, {2, 3, 4}));
  const std::string good = read_bytes(path("ok.npy"));
  std::mt19937 rng(1234);
  int errors = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      // Mostly the preamble and header, where the parser works.
      const size_t pos = rng() % 4 == 0 ? rng() % bytes.size() : rng() % 128;
      bytes[pos] = static_cast<char>(rng() % 256);
    }
    if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    write_bytes(path("f.npy"), bytes);
    try {
      const torch::Tensor t = letter::io::read_npy(path("f.npy"));
      EXPECT_TRUE(t.defined());
    } catch (const letter::Error& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find(path("f.npy")), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": not a letter::Error: " << e.what();
    }
  }
  EXPECT_GT(errors, 100);  // the corruption does hit the checks
}

TEST_F(NpyTest, MissingFileAndFolderAreRejected) {
  expect_error([&] { letter::io::read_npy(path("nope.npy")); },
               {path("nope.npy"), "file not found"});
  expect_error([&] { letter::io::read_npy_header(path("nope.npy")); }, {"file not found"});
  fs::create_directories(path("dir.npy"));
  expect_error([&] { letter::io::read_npy(path("dir.npy")); },
               {path("dir.npy"), "not a regular file"});
}

// ---------------------------------------------------------------------------------------
// .npy: writer

TEST_F(NpyTest, NonContiguousInputIsWrittenInCOrder) {
  const torch::Tensor base = torch::arange(12, torch::kInt32).reshape({3, 4});
  const torch::Tensor tr = base.t();  // (4, 3), strides (1, 4)
  ASSERT_FALSE(tr.is_contiguous());
  letter::io::write_npy(path("t.npy"), tr);
  const torch::Tensor r = letter::io::read_npy(path("t.npy"));
  EXPECT_EQ(r.sizes().vec(), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE(torch::equal(r, tr));
  // Row 0 of the transpose is column 0 of base: 0, 4, 8.
  EXPECT_EQ(read_bytes(path("t.npy")).substr(128, 12), hex("000000000400000008000000"));

  const torch::Tensor strided = torch::arange(10, torch::kFloat64).slice(0, 1, 10, 3);  // 1,4,7
  letter::io::write_npy(path("s.npy"), strided);
  EXPECT_TRUE(torch::equal(letter::io::read_npy(path("s.npy")),
                           torch::tensor({1.0, 4.0, 7.0}, torch::kFloat64)));

  const torch::Tensor expanded = torch::tensor({5, 6}, torch::kInt64).expand({3, 2});
  letter::io::write_npy(path("e.npy"), expanded);
  EXPECT_TRUE(torch::equal(letter::io::read_npy(path("e.npy")), expanded.contiguous()));
}

TEST_F(NpyTest, RequiresGradTensorIsWritten) {
  const torch::Tensor w = torch::tensor({0.5f, -0.25f}).requires_grad_(true);
  letter::io::write_npy(path("w.npy"), w);
  const torch::Tensor r = letter::io::read_npy(path("w.npy"));
  EXPECT_FALSE(r.requires_grad());
  EXPECT_TRUE(torch::equal(r, w.detach()));
}

TEST_F(NpyTest, Bfloat16WriteThrowsAndLeavesNoFile) {
  const std::string p = path("bf.npy");
  expect_error([&] { letter::io::write_npy(p, torch::ones({2}, torch::kBFloat16)); },
               {p, "bfloat16 is not representable in .npy"});
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(listing().empty());
}

TEST_F(NpyTest, FailedWriteKeepsExistingFile) {
  const std::string p = path("keep.npy");
  letter::io::write_npy(p, torch::tensor({1, 2, 3}, torch::kInt32));
  const std::string before = read_bytes(p);
  expect_error([&] { letter::io::write_npy(p, torch::ones({2}, torch::kBFloat16)); }, {"bfloat16"});
  expect_error([&] { letter::io::write_npy(p, torch::ones({2}, torch::kComplexFloat)); },
               {p, "not representable in .npy", "ComplexFloat"});
  expect_error([&] { letter::io::write_npy(p, torch::Tensor()); }, {p, "undefined"});
  EXPECT_TRUE(read_bytes(p) == before);
  EXPECT_EQ(listing(), std::vector<std::string>{"keep.npy"});
}

TEST_F(NpyTest, OverwriteReplacesContent) {
  const std::string p = path("o.npy");
  letter::io::write_npy(p, torch::zeros({100}, torch::kFloat64));
  letter::io::write_npy(p, torch::tensor({3}, torch::kInt8));
  expect_identical(letter::io::read_npy(p), torch::tensor({3}, torch::kInt8));
  EXPECT_EQ(fs::file_size(p), 129u);
}

TEST_F(NpyTest, WriteCreatesParentFolders) {
  const std::string p = path("a/b/c.npy");
  letter::io::write_npy(p, torch::tensor({7}, torch::kInt64));
  EXPECT_EQ(letter::io::read_npy(p)[0].item<int64_t>(), 7);
}

// ---------------------------------------------------------------------------------------
// .safetensors: round trips

struct StDtype {
  torch::ScalarType type;
  const char* name;
};
const std::vector<StDtype> kStDtypes = {
    {torch::kFloat32, "F32"}, {torch::kFloat16, "F16"}, {torch::kBFloat16, "BF16"},
    {torch::kFloat64, "F64"}, {torch::kInt64, "I64"},   {torch::kInt32, "I32"},
    {torch::kInt16, "I16"},   {torch::kInt8, "I8"},     {torch::kUInt8, "U8"},
    {torch::kBool, "BOOL"},
};

TEST_F(SafetensorsTest, RoundTripEveryDtypeAndShape) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const StDtype& dt : kStDtypes) {
    for (const auto& shape : kShapes) {
      tensors.emplace_back(std::string(dt.name) + shape_name(shape), sample(dt.type, shape));
    }
  }
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "ünïcode ✓"}};
  letter::io::write_safetensors(path("m.safetensors"), tensors, meta);
  const letter::io::SafetensorsFile f = letter::io::read_safetensors(path("m.safetensors"));
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].first);
    EXPECT_EQ(f.tensors[i].first, tensors[i].first);  // written order == offset order
    expect_identical(f.tensors[i].second, tensors[i].second);
    const torch::Tensor* found = f.find(tensors[i].first);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found, &f.tensors[i].second);
  }
  EXPECT_EQ(f.find("absent"), nullptr);
  EXPECT_EQ(listing(), std::vector<std::string>{"m.safetensors"});
}

TEST_F(SafetensorsTest, Bfloat16AndFloat16AllBitPatternsRoundTripExactly) {
  const torch::Tensor bf = all_16bit_patterns(torch::kBFloat16);
  const torch::Tensor h = all_16bit_patterns(torch::kFloat16);
  letter::io::write_safetensors(path("b.safetensors"), {{"bf", bf}, {"h", h}});
  const letter::io::SafetensorsFile f = letter::io::read_safetensors(path("b.safetensors"));
  ASSERT_EQ(f.tensors.size(), 2u);
  ASSERT_EQ(f.find("bf")->scalar_type(), torch::kBFloat16);
  ASSERT_EQ(f.find("h")->scalar_type(), torch::kFloat16);
  EXPECT_TRUE(torch::equal(f.find("bf")->view(torch::kInt16), bf.view(torch::kInt16)));
  EXPECT_TRUE(torch::equal(f.find("h")->view(torch::kInt16), h.view(torch::kInt16)));
}

TEST_F(SafetensorsTest, EmptyFileRoundTrips) {
  letter::io::write_safetensors(path("e.safetensors"), {});
  // u64 8, then "{}" padded with 6 spaces.
  EXPECT_TRUE(read_bytes(path("e.safetensors")) == le(8, 8) + "{}      ");
  const letter::io::SafetensorsFile f = letter::io::read_safetensors(path("e.safetensors"));
  EXPECT_TRUE(f.tensors.empty());
  EXPECT_TRUE(f.metadata.empty());
}

// ---------------------------------------------------------------------------------------
// .safetensors: exact bytes

TEST_F(SafetensorsTest, WriterProducesExpectedBytes) {
  // nlohmann::json orders keys alphabetically; the reference pads the header with spaces
  // to a multiple of 8: 85 bytes of JSON + 3 spaces.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"x":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})";
  ASSERT_EQ(json.size(), 85u);
  const std::string expected = le(88, 8) + json + "   " + hex("0000803f0000c0bf");
  letter::io::write_safetensors(path("x.safetensors"), {{"x", torch::tensor({1.0f, -1.5f})}},
                                {{"format", "pt"}});
  EXPECT_TRUE(read_bytes(path("x.safetensors")) == expected);
}

TEST_F(SafetensorsTest, ReadsHandWrittenFile) {
  // As the Python reference writes it: compact JSON, "__metadata__" first, padding to 8.
  // Offset order z, a, h differs from alphabetical order.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"z":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"I64","shape":[],"data_offsets":[8,16]},)"
      R"("h":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}})";
  ASSERT_EQ(json.size(), 194u);
  // z: [1.0f, 0.1f]; a: -2 (int64); h: bf16 [1.0 = 0x3f80, -2.0 = 0xc000, 3.140625 = 0x4049].
  const std::string bytes = le(200, 8) + json + std::string(6, ' ') + hex("0000803fcdcccc3d") +
                            hex("feffffffffffffff") + hex("803f00c04940");
  write_bytes(path("h.safetensors"), bytes);

  const letter::io::SafetensorsFile f = letter::io::read_safetensors(path("h.safetensors"));
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors[0].first, "z");
  EXPECT_EQ(f.tensors[1].first, "a");
  EXPECT_EQ(f.tensors[2].first, "h");
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));

  const torch::Tensor& z = f.tensors[0].second;
  ASSERT_EQ(z.scalar_type(), torch::kFloat32);
  ASSERT_EQ(z.sizes().vec(), std::vector<int64_t>{2});
  EXPECT_EQ(z[0].item<float>(), 1.0f);
  EXPECT_EQ(z[1].item<float>(), 0.1f);

  const torch::Tensor& a = f.tensors[1].second;
  ASSERT_EQ(a.scalar_type(), torch::kInt64);
  EXPECT_EQ(a.dim(), 0);
  EXPECT_EQ(a.item<int64_t>(), -2);

  const torch::Tensor& h = f.tensors[2].second;
  ASSERT_EQ(h.scalar_type(), torch::kBFloat16);
  const torch::Tensor hf = h.to(torch::kFloat32);
  EXPECT_EQ(hf[0].item<float>(), 1.0f);
  EXPECT_EQ(hf[1].item<float>(), -2.0f);
  EXPECT_EQ(hf[2].item<float>(), 3.140625f);
}

TEST_F(SafetensorsTest, ReadsNullMetadataAndGaps) {
  // "__metadata__": null is accepted; gaps between tensors are not an error.
  const std::string json =
      R"({"__metadata__":null,"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
      R"("f":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})";
  write_bytes(path("g.safetensors"), le(json.size(), 8) + json + hex("0105000009ff"));
  const letter::io::SafetensorsFile f = letter::io::read_safetensors(path("g.safetensors"));
  EXPECT_TRUE(f.metadata.empty());
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].first, "f");
  // Bool bytes other than 0/1 read as true.
  EXPECT_TRUE(torch::equal(f.tensors[0].second, torch::tensor({true, true})));
  EXPECT_EQ(tensor_bytes(f.tensors[0].second), hex("0101"));  // stored as valid bools
  EXPECT_TRUE(torch::equal(f.tensors[1].second, torch::tensor({9, 255}, torch::kUInt8)));
}

// ---------------------------------------------------------------------------------------
// .safetensors: rejected inputs

/// A file with the given JSON header (unpadded) and data buffer.
std::string st_file(const std::string& json, const std::string& data) {
  return le(json.size(), 8) + json + data;
}

TEST_F(SafetensorsTest, TruncatedFilesThrowNamingThePath) {
  letter::io::write_safetensors(path("full.safetensors"), {{"w", torch::arange(6, torch::kFloat32)},
                                                           {"b", torch::arange(2, torch::kInt64)}});
  const std::string full = read_bytes(path("full.safetensors"));
  const uint64_t n = full.size() - 8 - 24 - 16;  // header length
  for (size_t cut : {size_t{0}, size_t{4}, size_t{7}, size_t{8}, size_t{20}, size_t{8 + n - 1},
                     size_t{8 + n}, size_t{8 + n + 10}, size_t{8 + n + 24}, full.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    const std::string p = path("cut" + std::to_string(cut) + ".safetensors");
    write_bytes(p, full.substr(0, cut));
    expect_error([&] { letter::io::read_safetensors(p); }, {p});
  }
  const std::string p = path("cut" + std::to_string(8 + n + 10) + ".safetensors");
  expect_error([&] { letter::io::read_safetensors(p); },
               {"point past the end of the 10-byte data buffer"});
  const std::string q = path("cut20.safetensors");
  expect_error([&] { letter::io::read_safetensors(q); }, {"exceeds the 12 bytes that follow"});
  const std::string r = path("cut4.safetensors");
  expect_error([&] { letter::io::read_safetensors(r); }, {"truncated .safetensors file: 4 bytes"});
}

TEST_F(SafetensorsTest, BadHeaderLengthIsRejected) {
  const std::string json = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  // -1 as u64, 2^62, just past the file, zero.
  for (uint64_t len : {~uint64_t{0}, uint64_t{1} << 62, uint64_t{json.size() + 2}}) {
    SCOPED_TRACE(len);
    write_bytes(path("l.safetensors"), le(len, 8) + json + "x");
    expect_error([&] { letter::io::read_safetensors(path("l.safetensors")); },
                 {path("l.safetensors"), "header length " + std::to_string(len) + " exceeds"});
  }
  write_bytes(path("z.safetensors"), le(0, 8) + json + "x");
  expect_error([&] { letter::io::read_safetensors(path("z.safetensors")); }, {"too small"});
}

TEST_F(SafetensorsTest, MalformedJsonIsRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"a":{"dtype":"U8")", ".safetensors JSON header: malformed JSON"},
      {R"([1, 2, 3])", "must be an object, got array"},
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
       R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
       "duplicate key 'a'"},
      {R"({"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
       "duplicate key 'dtype'"},
      {R"({"__metadata__":{"k":"1","k":"2"}})", "duplicate key 'k'"},
      {"{\"a\xff\":1}", ".safetensors JSON header: malformed JSON"},
  };
  for (const auto& [json, needle] : cases) {
    SCOPED_TRACE(json);
    write_bytes(path("j.safetensors"), st_file(json, "x"));
    expect_error([&] { letter::io::read_safetensors(path("j.safetensors")); },
                 {path("j.safetensors"), needle});
  }
}

TEST_F(SafetensorsTest, BadEntriesAreRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})",
       R"(unsupported dtype "F8_E4M3")"},
      {R"({"a":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}})", R"(unsupported dtype "U16")"},
      {R"({"a":{"dtype":7,"shape":[4],"data_offsets":[0,4]}})", "dtype must be a string"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})",
       "span 4 bytes, but shape [2] of F32 needs 8"},
      {R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,0]}})",
       "span 0 bytes, but shape [] of F32 needs 4"},
      {R"({"a":{"dtype":"U8","shape":[0,4],"data_offsets":[0,1]}})",
       "span 1 bytes, but shape [0, 4] of U8 needs 0"},
      {R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
       "data_offsets [2, 6] point past the end of the 4-byte data buffer"},
      {R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[4,0]}})", "begin > end"},
      {R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[-1,3]}})",
       "data_offsets[0] must be a non-negative integer, got -1"},
      {R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,18446744073709551615]}})",
       "point past the end"},
      {R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4,8]}})",
       "data_offsets must be [begin, end]"},
      {R"({"a":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}})",
       "shape entry must be a non-negative integer, got -4"},
      {R"({"a":{"dtype":"U8","shape":[2.0,2],"data_offsets":[0,4]}})",
       "shape entry must be a non-negative integer, got 2.0"},
      {R"({"a":{"dtype":"U8","shape":4,"data_offsets":[0,4]}})", "shape must be an array"},
      {R"({"a":{"dtype":"U8","shape":[4]}})", "entry needs dtype, shape and data_offsets"},
      {R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4],"x":1}})", "unknown field 'x'"},
      {R"({"a":[1,2]})", "header entry must be an object"},
      {R"({"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,4]}})",
       "does not fit in int64"},
      {R"({"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,4]}})",
       "too large"},
      {R"({"__metadata__":{"k":1}})", "__metadata__ value for 'k' must be a string"},
      {R"({"__metadata__":[1]})", "__metadata__ must be an object"},
  };
  for (const auto& [json, needle] : cases) {
    SCOPED_TRACE(json);
    write_bytes(path("e.safetensors"), st_file(json, "abcd"));
    expect_error([&] { letter::io::read_safetensors(path("e.safetensors")); },
                 {path("e.safetensors"), needle});
  }
}

TEST_F(SafetensorsTest, RandomCorruptionThrowsOnlyLetterError) {
  letter::io::write_safetensors(path("ok.safetensors"),
                                {{"a", sample(torch::kFloat32, {2, 3})},
                                 {"b", sample(torch::kBool, {5})},
                                 {"c", sample(torch::kBFloat16, {4})}},
                                {{"format", "pt"}});
  const std::string good = read_bytes(path("ok.safetensors"));
  std::mt19937 rng(4321);
  int errors = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t pos = rng() % bytes.size();
      // Digits keep the JSON parseable more often, so offsets and shapes get exercised.
      bytes[pos] =
          rng() % 2 == 0 ? static_cast<char>('0' + rng() % 10) : static_cast<char>(rng() % 256);
    }
    if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    write_bytes(path("f.safetensors"), bytes);
    try {
      const letter::io::SafetensorsFile f = letter::io::read_safetensors(path("f.safetensors"));
      for (const auto& [name, t] : f.tensors) EXPECT_TRUE(t.defined()) << name;
    } catch (const letter::Error& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find(path("f.safetensors")), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": not a letter::Error: " << e.what();
    }
  }
  EXPECT_GT(errors, 100);
}

TEST_F(SafetensorsTest, NotAFileIsRejected) {
  expect_error([&] { letter::io::read_safetensors(path("nope.safetensors")); },
               {path("nope.safetensors"), "file not found"});
  fs::create_directories(path("d.safetensors"));
  expect_error([&] { letter::io::read_safetensors(path("d.safetensors")); },
               {"not a regular file"});
}

// ---------------------------------------------------------------------------------------
// .safetensors: writer

TEST_F(SafetensorsTest, NonContiguousInputIsWrittenInCOrder) {
  const torch::Tensor base = torch::arange(12, torch::kFloat32).reshape({3, 4});
  const torch::Tensor tr = base.t();
  const torch::Tensor sl = torch::arange(10, torch::kInt16).slice(0, 0, 10, 4);  // 0, 4, 8
  ASSERT_FALSE(tr.is_contiguous());
  letter::io::write_safetensors(path("n.safetensors"), {{"t", tr}, {"s", sl}});
  const letter::io::SafetensorsFile f = letter::io::read_safetensors(path("n.safetensors"));
  expect_identical(*f.find("t"), tr.contiguous());
  expect_identical(*f.find("s"), torch::tensor({0, 4, 8}, torch::kInt16));
  // The first data bytes are row 0 of the transpose: 0, 4, 8 as float32.
  const std::string bytes = read_bytes(path("n.safetensors"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.substr(8 + n, 12), hex("000000000000804000000041"));
  EXPECT_EQ(bytes.size(), 8 + n + 48 + 6);
}

TEST_F(SafetensorsTest, InvalidWritesThrowAndLeaveNoFile) {
  const std::string p = path("bad.safetensors");
  const torch::Tensor one = torch::ones({1});
  expect_error(
      [&] {
        letter::io::write_safetensors(p, {{"a", one}, {"a", one}});
      },
      {p, "duplicate tensor name 'a'"});
  expect_error(
      [&] {
        letter::io::write_safetensors(p, {{"a", one}, {"", one}});
      },
      {p, "tensor #1 has an empty name"});
  expect_error([&] { letter::io::write_safetensors(p, {{"__metadata__", one}}); }, {"reserved"});
  expect_error(
      [&] {
        letter::io::write_safetensors(p, {{"c", torch::ones({1}, torch::kComplexFloat)}});
      },
      {p, "tensor 'c' has dtype ComplexFloat"});
  expect_error(
      [&] {
        letter::io::write_safetensors(p, {{"u", torch::Tensor()}});
      },
      {"tensor 'u' is undefined"});
  expect_error(
      [&] {
        letter::io::write_safetensors(p, {{"a", one}}, {{"k", "\xff"}});
      },
      {p, "valid UTF-8"});
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(listing().empty());
}

TEST_F(SafetensorsTest, FailedWriteKeepsExistingFile) {
  const std::string p = path("keep.safetensors");
  letter::io::write_safetensors(p, {{"a", torch::tensor({1.5f})}}, {{"v", "1"}});
  const std::string before = read_bytes(p);
  expect_error(
      [&] {
        letter::io::write_safetensors(p, {{"a", torch::ones({1})}, {"a", torch::ones({1})}});
      },
      {"duplicate"});
  EXPECT_TRUE(read_bytes(p) == before);
  EXPECT_EQ(listing(), std::vector<std::string>{"keep.safetensors"});
  EXPECT_EQ(letter::io::read_safetensors(p).metadata.at("v"), "1");
}

}  // namespace
