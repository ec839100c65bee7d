//===- SafetensorsTest.cpp - safetensors reader/writer and JSON parser ----===//
#include "runtime/io/Json.h"
#include "runtime/io/Safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace hybrid;

namespace {

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/rtio_" + std::to_string(::getpid()) + "_" + name;
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}

/// A safetensors file built by hand: length prefix, header text, data bytes.
std::string rawFile(const std::string &header, const std::string &data) {
  return le64(header.size()) + header + data;
}

/// Opens `bytes` both from a file and from memory; both must agree on
/// failure, and the file error must name the file. Returns the message.
std::string openError(const std::string &bytes, const std::string &tag) {
  std::string path = tempPath(tag + ".safetensors");
  writeBytes(path, bytes);
  auto fromFile = SafetensorsFile::open(path);
  auto fromBuf = SafetensorsFile::openFromBuffer(bytes.data(), bytes.size(), "buf");
  ::unlink(path.c_str());
  EXPECT_FALSE(fromFile.ok()) << tag;
  EXPECT_FALSE(fromBuf.ok()) << tag;
  if (fromFile.ok() || fromBuf.ok())
    return "";
  EXPECT_NE(fromFile.status().message().find(path), std::string::npos)
      << tag << ": " << fromFile.status().message();
  return fromFile.status().message();
}

#define EXPECT_CONTAINS(haystack, needle)                                      \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos)             \
      << "'" << (haystack) << "' lacks '" << (needle) << "'"

const char *kGood = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

} // namespace

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

TEST(Json, ParsesValues) {
  auto v = parseJson(" {\"a\": [1, -2.5e1, true, false, null, \"x\\n\\u00e9\\ud83d\\ude00\"],"
                     " \"b\": {}, \"big\": 18446744073709551615, \"a\": 3} ");
  ASSERT_TRUE(v.ok()) << v.status().toString();
  ASSERT_TRUE(v->isObject());
  ASSERT_EQ(v->asObject().size(), 4u); // duplicate "a" kept, in order
  const auto &arr = v->get("a")->asArray();
  ASSERT_EQ(arr.size(), 6u);
  EXPECT_TRUE(arr[0].isUInt64());
  EXPECT_EQ(arr[0].asUInt64(), 1u);
  EXPECT_FALSE(arr[1].isUInt64());
  EXPECT_EQ(arr[1].asDouble(), -25.0);
  EXPECT_TRUE(arr[2].asBool());
  EXPECT_FALSE(arr[3].asBool());
  EXPECT_TRUE(arr[4].isNull());
  EXPECT_EQ(arr[5].asString(), "x\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_TRUE(v->get("big")->isUInt64());
  EXPECT_EQ(v->get("big")->asUInt64(), 18446744073709551615ull);
  EXPECT_EQ(v->asObject()[3].second.asUInt64(), 3u);
}

TEST(Json, RejectsMalformed) {
  const char *bad[] = {"",          "{",          "{\"a\":}",   "{\"a\":1,}", "[1,]",
                       "[01]",      "[1.]",       "[.5]",       "[-]",        "[1e]",
                       "nul",       "[NaN]",      "{a:1}",      "\"\\x\"",    "\"\\ud800\"",
                       "\"\\udc00\"", "\"a\x01\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"",
                       "\"\xF4\x90\x80\x80\"", "1 2", "[1e999]", "\"abc"};
  for (const char *text : bad) {
    auto v = parseJson(text);
    EXPECT_FALSE(v.ok()) << "accepted: " << text;
    if (!v.ok()) {
      EXPECT_CONTAINS(v.status().message(), "JSON error at byte");
    }
  }
  std::string deep(10000, '[');
  auto v = parseJson(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_CONTAINS(v.status().message(), "nesting");
}

TEST(Json, QuoteRoundTrips) {
  std::string s = "a\"b\\c\n\t\x01 \xC3\xA9";
  auto v = parseJson(jsonQuote(s));
  ASSERT_TRUE(v.ok()) << v.status().toString();
  EXPECT_EQ(v->asString(), s);
}

//===----------------------------------------------------------------------===//
// Half / bfloat16 conversion
//===----------------------------------------------------------------------===//

TEST(Safetensors, HalfHandValues) {
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);          // largest finite
  EXPECT_EQ(halfToFloat(0x0400), 6.103515625e-05f);  // smallest normal 2^-14
  EXPECT_EQ(halfToFloat(0x0001), 5.9604644775390625e-08f); // smallest subnormal 2^-24
  EXPECT_EQ(halfToFloat(0x03FF), 6.0975551605224609375e-05f); // 1023 * 2^-24
  EXPECT_EQ(halfToFloat(0x8001), -5.9604644775390625e-08f);
  EXPECT_EQ(halfToFloat(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
  EXPECT_EQ(halfToFloat(0x7C00), INFINITY);
  EXPECT_EQ(halfToFloat(0xFC00), -INFINITY);
  EXPECT_TRUE(std::isnan(halfToFloat(0x7E00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0xFC01)));
}

TEST(Safetensors, HalfAllPatternsMatchFormula) {
  // Independent oracle: the IEEE 754 binary16 definition evaluated with ldexp.
  for (uint32_t h = 0; h < 65536; ++h) {
    int sign = (h >> 15) & 1, exp = (h >> 10) & 31, mant = h & 1023;
    float got = halfToFloat(static_cast<uint16_t>(h));
    if (exp == 31) {
      if (mant == 0)
        EXPECT_EQ(got, sign ? -INFINITY : INFINITY);
      else
        EXPECT_TRUE(std::isnan(got)) << h;
      continue;
    }
    double mag = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
    double want = sign ? -mag : mag;
    ASSERT_EQ(static_cast<double>(got), want) << "half 0x" << std::hex << h;
    ASSERT_EQ(std::signbit(got), sign == 1) << h;
  }
}

TEST(Safetensors, BFloat16HandValues) {
  EXPECT_EQ(bfloat16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(bfloat16ToFloat(0xC0A0), -5.0f);
  EXPECT_EQ(bfloat16ToFloat(0x3EAB), 0.333984375f);
  EXPECT_EQ(bfloat16ToFloat(0x4049), 3.140625f);
  EXPECT_EQ(bfloat16ToFloat(0x0001), std::ldexp(1.0f, -133)); // float subnormal
  EXPECT_EQ(bfloat16ToFloat(0x7F80), INFINITY);
  EXPECT_EQ(bfloat16ToFloat(0xFF80), -INFINITY);
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(0x7FC0)));
}

TEST(Safetensors, ReadsF16AndBF16Tensors) {
  // Little-endian bit patterns written by hand.
  std::string f16 = std::string("\x00\x3C\x00\xC0\x01\x00\x00\x7C", 8); // 1, -2, 2^-24, inf
  std::string bf16 = std::string("\x80\x3F\xA0\xC0\xAB\x3E\xC0\x7F", 8); // 1, -5, .333984375, nan
  std::string header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[8,16]},"
                       "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]}}";
  std::string bytes = rawFile(header, f16 + bf16 + std::string(8, '\0'));
  auto file = SafetensorsFile::openFromBuffer(bytes.data(), bytes.size(), "mixed");
  ASSERT_TRUE(file.ok()) << file.status().toString();
  float h[4], b[4];
  ASSERT_TRUE((*file)->readAsF32("h", {2, 2}, h).ok());
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(h[2], 5.9604644775390625e-08f);
  EXPECT_EQ(h[3], INFINITY);
  ASSERT_TRUE((*file)->readAsF32("b", {4}, b).ok());
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], -5.0f);
  EXPECT_EQ(b[2], 0.333984375f);
  EXPECT_TRUE(std::isnan(b[3]));
  EXPECT_EQ((*file)->find("i")->dtype, SafetensorsDType::I64);
  auto asF32 = (*file)->readAsF32("i");
  ASSERT_FALSE(asF32.ok());
  EXPECT_CONTAINS(asF32.status().message(), "'i' has dtype I64");
}

//===----------------------------------------------------------------------===//
// Writer + reader round trip
//===----------------------------------------------------------------------===//

TEST(Safetensors, RoundTrip) {
  std::vector<float> w(2 * 3), bias = {0.5f, -1.25f, 3e-39f /*subnormal*/}, scalar = {7.0f};
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<float>(i) * 0.1f - 0.2f;
  std::vector<std::pair<std::string, TensorF32View>> tensors = {
      {"layer.0.weight", {w.data(), {2, 3}}},
      {"layer.0.bias", {bias.data(), {3}}},
      {"empty", {nullptr, {0, 5}}},
      {"scalar \"quoted\"", {scalar.data(), {}}},
  };
  std::string path = tempPath("roundtrip.safetensors");
  ASSERT_TRUE(writeSafetensors(path, tensors, {{"format", "pt"}, {"step", "12"}}).ok());

  // The bytes themselves: header length prefix, 8-byte aligned data, packed.
  std::string bytes = readBytes(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + (6 + 3 + 0 + 1) * 4);
  EXPECT_EQ(bytes[8], '{');

  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().toString();
  std::vector<std::string> expectNames = {"layer.0.weight", "layer.0.bias", "empty",
                                          "scalar \"quoted\""};
  EXPECT_EQ((*file)->names(), expectNames);
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  EXPECT_EQ((*file)->metadata().at("step"), "12");
  const TensorInfo *info = (*file)->find("layer.0.weight");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(info->byteSize(), 24u);
  EXPECT_EQ((*file)->find("nope"), nullptr);

  std::vector<float> got(6);
  ASSERT_TRUE((*file)->readAsF32("layer.0.weight", {2, 3}, got.data()).ok());
  EXPECT_EQ(std::memcmp(got.data(), w.data(), 24), 0);
  std::vector<int64_t> shape;
  auto b = (*file)->readAsF32("layer.0.bias", &shape);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(std::memcmp(b->data(), bias.data(), 12), 0);
  auto e = (*file)->readAsF32("empty", &shape);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
  EXPECT_EQ(shape, (std::vector<int64_t>{0, 5}));
  float s = 0;
  ASSERT_TRUE((*file)->readAsF32("scalar \"quoted\"", {}, &s).ok());
  EXPECT_EQ(s, 7.0f);

  // Shape mismatch names the tensor, the file and both shapes.
  Status st = (*file)->readAsF32("layer.0.weight", {3, 2}, got.data());
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "'layer.0.weight'");
  EXPECT_CONTAINS(st.message(), path);
  EXPECT_CONTAINS(st.message(), "[2, 3]");
  EXPECT_CONTAINS(st.message(), "[3, 2]");
  st = (*file)->readAsF32("missing", {1}, got.data());
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "no tensor named 'missing'");
  ::unlink(path.c_str());
}

TEST(Safetensors, WriterRejectsBadInput) {
  float x = 1;
  std::string path = tempPath("bad_write.safetensors");
  Status st = writeSafetensors(path, {{"a", {&x, {1}}}, {"a", {&x, {1}}}});
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "'a' given twice");
  st = writeSafetensors(path, {{"a", {&x, {-1}}}});
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "negative");
  st = writeSafetensors(path, {{"__metadata__", {&x, {1}}}});
  ASSERT_FALSE(st.ok());
  st = writeSafetensors(path, {{"a", {nullptr, {2}}}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(::access(path.c_str(), F_OK), -1); // nothing written
  st = writeSafetensors("/nonexistent_dir_rtio/x.safetensors", {{"a", {&x, {1}}}});
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "/nonexistent_dir_rtio/x.safetensors");
}

TEST(Safetensors, OverwriteKeepsFileValid) {
  std::string path = tempPath("overwrite.safetensors");
  float a[2] = {1, 2}, b[3] = {3, 4, 5};
  ASSERT_TRUE(writeSafetensors(path, {{"a", {a, {2}}}}).ok());
  ASSERT_TRUE(writeSafetensors(path, {{"b", {b, {3}}}}).ok());
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->names(), std::vector<std::string>{"b"});
  ::unlink(path.c_str());
}

//===----------------------------------------------------------------------===//
// Malformed files: a clear error each, never a crash.
//===----------------------------------------------------------------------===//

TEST(SafetensorsMalformed, ValidBaseOpens) {
  std::string bytes = rawFile(kGood, std::string(8, '\0'));
  auto file = SafetensorsFile::openFromBuffer(bytes.data(), bytes.size());
  ASSERT_TRUE(file.ok()) << file.status().toString();
}

TEST(SafetensorsMalformed, Truncated) {
  EXPECT_CONTAINS(openError("", "empty"), "truncated");
  EXPECT_CONTAINS(openError("\x10\x00\x00", "short"), "truncated");
  // A valid file cut inside its data area.
  std::string bytes = rawFile(kGood, std::string(8, '\0'));
  EXPECT_CONTAINS(openError(bytes.substr(0, bytes.size() - 3), "cutdata"),
                  "run past the data area");
  // Cut inside the header.
  EXPECT_CONTAINS(openError(bytes.substr(0, 20), "cuthdr"), "runs past the end of the file");
}

TEST(SafetensorsMalformed, HeaderLength) {
  EXPECT_CONTAINS(openError(le64(1000) + "{}", "hdrlong"), "runs past the end of the file");
  EXPECT_CONTAINS(openError(le64(~0ull) + "{}", "hdrhuge"), "limit");
  EXPECT_CONTAINS(openError(le64(0) + "{}", "hdrzero"), "does not start with '{'");
}

TEST(SafetensorsMalformed, BadJson) {
  EXPECT_CONTAINS(openError(rawFile("{\"a\":", ""), "badjson"), "bad header: JSON error");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{}} x", ""), "trailing"), "JSON error");
  EXPECT_CONTAINS(openError(rawFile("[1]", ""), "array"), "does not start with '{'");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":5}", ""), "entrynum"), "'a': entry is a number");
  EXPECT_CONTAINS(openError(rawFile(std::string(3000, '{'), ""), "deep"), "JSON error");
}

TEST(SafetensorsMalformed, Fields) {
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                                    std::string(8, '\0')),
                            "dtype"),
                  "tensor 'a': unknown dtype 'F17'");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}",
                                    std::string(8, '\0')),
                            "nodtype"),
                  "missing field 'dtype'");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],"
                                    "\"data_offsets\":[0,8]}}",
                                    std::string(8, '\0')),
                            "dupfield"),
                  "duplicate field 'dtype'");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                                    std::string(8, '\0')),
                            "negshape"),
                  "non-negative integers");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}",
                                    std::string(8, '\0')),
                            "floatshape"),
                  "non-negative integers");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                                    "\"data_offsets\":[0,8]}}",
                                    std::string(8, '\0')),
                            "overflow"),
                  "overflows");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],"
                                    "\"data_offsets\":[0,8]}}",
                                    std::string(8, '\0')),
                            "byteoverflow"),
                  "overflows");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}",
                                    std::string(8, '\0')),
                            "offsets1"),
                  "'data_offsets' must be [begin, end]");
  EXPECT_CONTAINS(openError(rawFile("{\"__metadata__\":{\"k\":1},"
                                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                                    std::string(8, '\0')),
                            "metanum"),
                  "metadata 'k' is a number");
}

TEST(SafetensorsMalformed, Offsets) {
  std::string data(16, '\0');
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
                                    data),
                            "range"),
                  "tensor 'a': data_offsets [12, 20] run past the data area (16 bytes");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}",
                                    data),
                            "size"),
                  "span 12 bytes, but F32 [2] needs 8");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}",
                                    data),
                            "reversed"),
                  "end before begin");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                                    data),
                            "overlap"),
                  "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
  // A small tensor inside a big one, listed first.
  EXPECT_CONTAINS(openError(rawFile("{\"s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                                    "\"big\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                                    data),
                            "inside"),
                  "overlap");
  EXPECT_CONTAINS(openError(rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                                    data),
                            "dup"),
                  "tensor 'a' appears twice");
  // Empty tensors own no bytes; a gap between tensors is allowed.
  std::string ok = rawFile("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                           "\"e\":{\"dtype\":\"BF16\",\"shape\":[3,0],\"data_offsets\":[2,2]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                           data);
  auto file = SafetensorsFile::openFromBuffer(ok.data(), ok.size());
  EXPECT_TRUE(file.ok()) << file.status().toString();
}

TEST(SafetensorsMalformed, NotAFile) {
  auto dir = SafetensorsFile::open(::testing::TempDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_CONTAINS(dir.status().message(), "not a regular file");
  auto missing = SafetensorsFile::open("/nonexistent_rtio.safetensors");
  ASSERT_FALSE(missing.ok());
  EXPECT_CONTAINS(missing.status().message(), "cannot open '/nonexistent_rtio.safetensors'");
}

//===----------------------------------------------------------------------===//
// Real files written by transformers (safetensors library).
//===----------------------------------------------------------------------===//

class HFFixture : public ::testing::TestWithParam<const char *> {};

TEST_P(HFFixture, NamesMatchHeader) {
  std::string path =
      std::string(HYBRIDC_SOURCE_DIR) + "/tests/fixtures/hf/" + GetParam() + "/model.safetensors";
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().toString();
  // Oracle independent of our JSON parser: the raw header text.
  std::string bytes = readBytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  std::string header = bytes.substr(8, n);
  size_t count = 0;
  for (size_t p = header.find("\"data_offsets\""); p != std::string::npos;
       p = header.find("\"data_offsets\"", p + 1))
    ++count;
  EXPECT_GT(count, 10u);
  EXPECT_EQ((*file)->size(), count);
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  uint64_t total = 0;
  for (const std::string &name : (*file)->names()) {
    EXPECT_NE(header.find("\"" + name + "\":"), std::string::npos) << name;
    const TensorInfo *info = (*file)->find(name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, SafetensorsDType::F32);
    total += info->byteSize();
    std::vector<float> data(static_cast<size_t>(info->numel));
    ASSERT_TRUE((*file)->readAsF32(name, info->shape, data.data()).ok()) << name;
    for (float v : data)
      ASSERT_TRUE(std::isfinite(v)) << name;
  }
  // The reference writer packs tensors back to back.
  EXPECT_EQ(total, bytes.size() - 8 - n);
}

INSTANTIATE_TEST_SUITE_P(HF, HFFixture,
                         ::testing::Values("llama", "mamba2", "bamba", "nemotron_h", "falcon_h1"));

TEST(Safetensors, FixtureValues) {
  // Values read from the files with Python's struct module.
  std::string dir = std::string(HYBRIDC_SOURCE_DIR) + "/tests/fixtures/hf/";
  auto m = SafetensorsFile::open(dir + "mamba2/model.safetensors");
  ASSERT_TRUE(m.ok()) << m.status().toString();
  float alog[8];
  ASSERT_TRUE((*m)->readAsF32("backbone.layers.0.mixer.A_log", {8}, alog).ok());
  EXPECT_EQ(alog[0], 0.26069268584251404f);
  EXPECT_EQ(alog[1], 2.074704170227051f);
  EXPECT_EQ(alog[2], -0.26984095573425293f);
  EXPECT_EQ(alog[7], -0.6285171508789062f);
  auto l = SafetensorsFile::open(dir + "llama/model.safetensors");
  ASSERT_TRUE(l.ok());
  std::vector<float> emb(256 * 64);
  ASSERT_TRUE((*l)->readAsF32("model.embed_tokens.weight", {256, 64}, emb.data()).ok());
  EXPECT_EQ(emb[0], -0.0558592826128006f);
  EXPECT_EQ(emb[3], -0.4408438801765442f);
  EXPECT_EQ(emb.back(), 0.7899315357208252f);
  Status st = (*l)->readAsF32("model.embed_tokens.weight", {64, 256}, emb.data());
  ASSERT_FALSE(st.ok());
  EXPECT_CONTAINS(st.message(), "has shape [256, 64], expected [64, 256]");
}
