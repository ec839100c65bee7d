//===- safetensors_fuzzer.cpp - libFuzzer target for the safetensors reader -===//
//
// Opens arbitrary bytes as a safetensors file (from memory, no temp file),
// then touches every tensor the reader accepted: lookups, raw bytes, the
// float32 conversion. When every tensor is F32 it also writes the file back
// with our writer and checks that the copy reads back to the same values.
// Any crash, sanitizer report or failed check here is a reader bug.
//
//===----------------------------------------------------------------------===//
#include "runtime/io/Safetensors.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace hybrid;

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__);   \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto opened = SafetensorsFile::openFromBuffer(data, size, "fuzz");
  if (!opened.ok()) {
    FUZZ_CHECK(!opened.status().message().empty());
    return 0;
  }
  const SafetensorsFile &file = *opened.value();
  bool allF32 = true;
  std::vector<std::vector<float>> values;
  for (const TensorInfo &info : file.tensors()) {
    FUZZ_CHECK(file.find(info.name) == &info);
    FUZZ_CHECK(info.begin <= info.end && info.end <= size);
    FUZZ_CHECK(info.byteSize() == static_cast<uint64_t>(info.numel) * dtypeSize(info.dtype));
    // Read every byte so that an out-of-bounds span shows up under ASan.
    const uint8_t *raw = file.rawData(info);
    unsigned sum = 0;
    for (uint64_t i = 0; i < info.byteSize(); ++i)
      sum += raw[i];
    (void)sum;
    std::vector<int64_t> shape;
    auto floats = file.readAsF32(info.name, &shape);
    bool convertible = info.dtype == SafetensorsDType::F32 ||
                       info.dtype == SafetensorsDType::BF16 || info.dtype == SafetensorsDType::F16;
    FUZZ_CHECK(floats.ok() == convertible);
    if (floats.ok()) {
      FUZZ_CHECK(shape == info.shape);
      FUZZ_CHECK(floats->size() == static_cast<size_t>(info.numel));
      std::vector<float> again(floats->size() + 1);
      FUZZ_CHECK(file.readAsF32(info.name, info.shape, again.data()).ok());
      FUZZ_CHECK(floats->empty() ||
                 std::memcmp(again.data(), floats->data(), floats->size() * 4) == 0);
      std::vector<int64_t> wrong = info.shape;
      wrong.push_back(1);
      FUZZ_CHECK(!file.readAsF32(info.name, wrong, again.data()).ok());
    }
    allF32 &= info.dtype == SafetensorsDType::F32;
    if (allF32 && floats.ok())
      values.push_back(std::move(floats.value()));
  }
  if (!allF32)
    return 0;

  // Writer round trip: same names, shapes, metadata and bits.
  std::vector<std::pair<std::string, TensorF32View>> views;
  for (size_t i = 0; i < file.tensors().size(); ++i)
    views.push_back({file.tensors()[i].name, {values[i].data(), file.tensors()[i].shape}});
  auto bytes = serializeSafetensors(views, file.metadata());
  if (!bytes.ok()) {
    // Only a tensor named like the metadata key may be refused... which the
    // reader never yields, so any refusal is a bug.
    std::fprintf(stderr, "writer refused: %s\n", bytes.status().toString().c_str());
    std::abort();
  }
  auto copy = SafetensorsFile::openFromBuffer(bytes->data(), bytes->size(), "copy");
  FUZZ_CHECK(copy.ok());
  FUZZ_CHECK((*copy)->names() == file.names());
  FUZZ_CHECK((*copy)->metadata() == file.metadata());
  for (size_t i = 0; i < values.size(); ++i) {
    auto back = (*copy)->readAsF32(file.tensors()[i].name);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(back->size() == values[i].size());
    FUZZ_CHECK(values[i].empty() ||
               std::memcmp(back->data(), values[i].data(), values[i].size() * 4) == 0);
  }
  return 0;
}
