//===- Safetensors.cpp - Read and write .safetensors files ----------------===//
//
// See Safetensors.h for the file format and the checks made on open.
//
//===----------------------------------------------------------------------===//
#include "runtime/io/Safetensors.h"

#include "runtime/io/Json.h"
#include "runtime/support/FileUtil.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Tensor bytes are little endian; we copy F32 data as is.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the safetensors reader assumes a little-endian host");

namespace hybrid {

namespace {
/// Same cap as the reference implementation: a header beyond this is hostile.
constexpr uint64_t kMaxHeaderBytes = 100u * 1000 * 1000;

struct DTypeEntry {
  SafetensorsDType dtype;
  const char *name;
  size_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {SafetensorsDType::BOOL, "BOOL", 1},       {SafetensorsDType::U8, "U8", 1},
    {SafetensorsDType::I8, "I8", 1},           {SafetensorsDType::F8_E5M2, "F8_E5M2", 1},
    {SafetensorsDType::F8_E4M3, "F8_E4M3", 1}, {SafetensorsDType::I16, "I16", 2},
    {SafetensorsDType::U16, "U16", 2},         {SafetensorsDType::F16, "F16", 2},
    {SafetensorsDType::BF16, "BF16", 2},       {SafetensorsDType::I32, "I32", 4},
    {SafetensorsDType::U32, "U32", 4},         {SafetensorsDType::F32, "F32", 4},
    {SafetensorsDType::F64, "F64", 8},         {SafetensorsDType::I64, "I64", 8},
    {SafetensorsDType::U64, "U64", 8},
};

uint64_t readLE64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}
} // namespace

const char *dtypeName(SafetensorsDType dtype) {
  for (const auto &e : kDTypes)
    if (e.dtype == dtype)
      return e.name;
  return "?";
}

size_t dtypeSize(SafetensorsDType dtype) {
  for (const auto &e : kDTypes)
    if (e.dtype == dtype)
      return e.size;
  return 0;
}

bool parseDType(const std::string &name, SafetensorsDType *dtype) {
  for (const auto &e : kDTypes)
    if (name == e.name) {
      *dtype = e.dtype;
      return true;
    }
  return false;
}

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13); // inf, or nan with its payload
  } else if (exp != 0) {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign; // signed zero
  } else {
    // Subnormal: mant * 2^-24. Shift the leading one up to the implicit bit;
    // each shift lowers the exponent by one (a float32 normal holds it).
    int e = -14;
    while (!(mant & 0x400)) {
      mant <<= 1;
      --e;
    }
    bits = sign | (static_cast<uint32_t>(e + 127) << 23) | ((mant & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bfloat16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToBfloat16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

SafetensorsFile::~SafetensorsFile() {
  if (mapped_)
    ::munmap(mapped_, mappedSize_);
}

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return HYBRID_ERROR("cannot open '", path, "': ", std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return HYBRID_ERROR("cannot stat '", path, "': ", std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return HYBRID_ERROR("'", path, "' is not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return HYBRID_ERROR("'", path, "': truncated safetensors file (", size,
                        " bytes, the header length alone takes 8)");
  }
  void *map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd); // the mapping keeps the file alive
  if (map == MAP_FAILED)
    return HYBRID_ERROR("cannot map '", path, "': ", std::strerror(e));
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapped_ = map;
  file->mappedSize_ = size;
  file->base_ = static_cast<const uint8_t *>(map);
  HYBRID_RETURN_IF_ERROR(file->parse(size));
  return file;
}

StatusOr<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::openFromBuffer(const void *data, size_t size, const std::string &displayName) {
  if (size < 8)
    return HYBRID_ERROR("'", displayName, "': truncated safetensors file (", size,
                        " bytes, the header length alone takes 8)");
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = displayName;
  const uint8_t *bytes = static_cast<const uint8_t *>(data);
  file->owned_.assign(bytes, bytes + size);
  file->base_ = file->owned_.data();
  HYBRID_RETURN_IF_ERROR(file->parse(size));
  return file;
}

Status SafetensorsFile::parse(size_t fileSize) {
  const std::string where = "'" + path_ + "'";
  uint64_t headerLen = readLE64(base_);
  if (headerLen > kMaxHeaderBytes)
    return HYBRID_ERROR(where, ": header length ", headerLen, " exceeds the ", kMaxHeaderBytes,
                        "-byte limit (corrupt or not a safetensors file)");
  if (headerLen > fileSize - 8)
    return HYBRID_ERROR(where, ": header length ", headerLen, " runs past the end of the file (",
                        fileSize, " bytes; truncated file?)");
  const char *header = reinterpret_cast<const char *>(base_ + 8);
  if (headerLen == 0 || header[0] != '{')
    return HYBRID_ERROR(where, ": header does not start with '{' (not a safetensors file?)");
  dataStart_ = base_ + 8 + headerLen;
  const uint64_t dataSize = fileSize - 8 - headerLen;

  StatusOr<JsonValue> json = parseJson(header, headerLen);
  if (!json.ok())
    return HYBRID_ERROR(where, ": bad header: ", json.status().message());
  const JsonValue &root = json.value();
  if (!root.isObject())
    return HYBRID_ERROR(where, ": header is a JSON ", JsonValue::kindName(root.kind()),
                        ", expected an object");

  bool sawMetadata = false;
  for (const auto &member : root.asObject()) {
    const std::string &name = member.first;
    const JsonValue &v = member.second;
    if (name == "__metadata__") {
      if (sawMetadata)
        return HYBRID_ERROR(where, ": duplicate \"__metadata__\" in header");
      sawMetadata = true;
      if (!v.isObject())
        return HYBRID_ERROR(where, ": \"__metadata__\" must be an object of strings");
      for (const auto &kv : v.asObject()) {
        if (!kv.second.isString())
          return HYBRID_ERROR(where, ": metadata '", kv.first, "' is a ",
                              JsonValue::kindName(kv.second.kind()), ", expected a string");
        if (!metadata_.emplace(kv.first, kv.second.asString()).second)
          return HYBRID_ERROR(where, ": duplicate metadata key '", kv.first, "'");
      }
      continue;
    }
    const std::string what = where + ": tensor '" + name + "'";
    if (index_.count(name))
      return HYBRID_ERROR(what, " appears twice in the header");
    if (!v.isObject())
      return HYBRID_ERROR(what, ": entry is a ", JsonValue::kindName(v.kind()),
                          ", expected an object");
    for (const char *field : {"dtype", "shape", "data_offsets"}) {
      int count = 0;
      for (const auto &kv : v.asObject())
        count += kv.first == field;
      if (count != 1)
        return HYBRID_ERROR(what, ": ", count == 0 ? "missing" : "duplicate", " field '", field,
                            "'");
    }
    TensorInfo info;
    info.name = name;
    const JsonValue *dtype = v.get("dtype");
    if (!dtype->isString())
      return HYBRID_ERROR(what, ": 'dtype' must be a string");
    if (!parseDType(dtype->asString(), &info.dtype))
      return HYBRID_ERROR(what, ": unknown dtype '", dtype->asString(), "'");

    const JsonValue *shape = v.get("shape");
    if (!shape->isArray())
      return HYBRID_ERROR(what, ": 'shape' must be an array");
    uint64_t numel = 1;
    for (const JsonValue &d : shape->asArray()) {
      if (!d.isUInt64() || d.asUInt64() > static_cast<uint64_t>(INT64_MAX))
        return HYBRID_ERROR(what, ": shape entries must be non-negative integers");
      uint64_t prod;
      if (__builtin_mul_overflow(numel, d.asUInt64(), &prod) ||
          prod > static_cast<uint64_t>(INT64_MAX))
        return HYBRID_ERROR(what, ": element count of the shape overflows");
      numel = prod;
      info.shape.push_back(static_cast<int64_t>(d.asUInt64()));
    }
    info.numel = static_cast<int64_t>(numel);
    uint64_t bytes;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtypeSize(info.dtype)), &bytes))
      return HYBRID_ERROR(what, ": byte size of shape ", shapeToString(info.shape), " overflows");

    const JsonValue *offsets = v.get("data_offsets");
    if (!offsets->isArray() || offsets->asArray().size() != 2 ||
        !offsets->asArray()[0].isUInt64() || !offsets->asArray()[1].isUInt64())
      return HYBRID_ERROR(what, ": 'data_offsets' must be [begin, end] with unsigned integers");
    info.begin = offsets->asArray()[0].asUInt64();
    info.end = offsets->asArray()[1].asUInt64();
    if (info.end < info.begin)
      return HYBRID_ERROR(what, ": data_offsets [", info.begin, ", ", info.end,
                          "] end before begin");
    if (info.end - info.begin != bytes)
      return HYBRID_ERROR(what, ": data_offsets [", info.begin, ", ", info.end, "] span ",
                          info.end - info.begin, " bytes, but ", dtypeName(info.dtype), " ",
                          shapeToString(info.shape), " needs ", bytes);
    if (info.end > dataSize)
      return HYBRID_ERROR(what, ": data_offsets [", info.begin, ", ", info.end,
                          "] run past the data area (", dataSize, " bytes; truncated file?)");
    index_.emplace(name, tensors_.size());
    tensors_.push_back(std::move(info));
  }

  // No two tensors may share a byte. Empty tensors own no bytes.
  std::vector<const TensorInfo *> order;
  for (const TensorInfo &t : tensors_)
    if (t.end > t.begin)
      order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo *a, const TensorInfo *b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const TensorInfo *furthest = nullptr; // the tensor reaching furthest so far
  for (const TensorInfo *t : order) {
    if (furthest && t->begin < furthest->end)
      return HYBRID_ERROR(where, ": tensors '", furthest->name, "' [", furthest->begin, ", ",
                          furthest->end, ") and '", t->name, "' [", t->begin, ", ", t->end,
                          ") overlap");
    if (!furthest || t->end > furthest->end)
      furthest = t;
  }
  return Status();
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const TensorInfo &t : tensors_)
    out.push_back(t.name);
  return out;
}

const TensorInfo *SafetensorsFile::find(const std::string &name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsFile::convert(const TensorInfo &info, float *out) const {
  const uint8_t *src = rawData(info);
  size_t n = static_cast<size_t>(info.numel);
  switch (info.dtype) {
  case SafetensorsDType::F32:
    if (n)
      std::memcpy(out, src, n * 4);
    return Status();
  case SafetensorsDType::BF16:
    for (size_t i = 0; i < n; ++i)
      out[i] = bfloat16ToFloat(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
    return Status();
  case SafetensorsDType::F16:
    for (size_t i = 0; i < n; ++i)
      out[i] = halfToFloat(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
    return Status();
  default:
    return HYBRID_ERROR("'", path_, "': tensor '", info.name, "' has dtype ",
                        dtypeName(info.dtype), "; only F32, BF16 and F16 convert to float32");
  }
}

Status SafetensorsFile::readAsF32(const std::string &name,
                                  const std::vector<int64_t> &expectedShape, float *out) const {
  const TensorInfo *info = find(name);
  if (!info)
    return HYBRID_ERROR("'", path_, "': no tensor named '", name, "'");
  if (info->shape != expectedShape)
    return HYBRID_ERROR("'", path_, "': tensor '", name, "' has shape ",
                        shapeToString(info->shape), ", expected ", shapeToString(expectedShape));
  return convert(*info, out);
}

StatusOr<std::vector<float>> SafetensorsFile::readAsF32(const std::string &name,
                                                        std::vector<int64_t> *shape) const {
  const TensorInfo *info = find(name);
  if (!info)
    return HYBRID_ERROR("'", path_, "': no tensor named '", name, "'");
  if (info->dtype != SafetensorsDType::F32 && info->dtype != SafetensorsDType::BF16 &&
      info->dtype != SafetensorsDType::F16)
    return convert(*info, nullptr); // the dtype error, before allocating
  std::vector<float> out(static_cast<size_t>(info->numel));
  HYBRID_RETURN_IF_ERROR(convert(*info, out.data()));
  if (shape)
    *shape = info->shape;
  return out;
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

StatusOr<std::string>
serializeSafetensors(const std::vector<std::pair<std::string, TensorF32View>> &tensors,
                     const std::map<std::string, std::string> &metadata) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (auto it = metadata.begin(); it != metadata.end(); ++it)
      header += (it == metadata.begin() ? "" : ",") + jsonQuote(it->first) + ":" +
                jsonQuote(it->second);
    header += "}";
    first = false;
  }
  std::map<std::string, int> seen;
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const auto &[name, view] : tensors) {
    if (name == "__metadata__")
      return HYBRID_ERROR("cannot write a tensor named \"__metadata__\" (reserved)");
    if (!seen.emplace(name, 0).second)
      return HYBRID_ERROR("tensor '", name, "' given twice");
    uint64_t numel = 1;
    for (int64_t d : view.shape) {
      if (d < 0)
        return HYBRID_ERROR("tensor '", name, "' has a negative dimension in shape ",
                            shapeToString(view.shape));
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel) ||
          numel > (static_cast<uint64_t>(INT64_MAX) / 4))
        return HYBRID_ERROR("tensor '", name, "': shape ", shapeToString(view.shape),
                            " is too large");
    }
    if (numel > 0 && !view.data)
      return HYBRID_ERROR("tensor '", name, "' has no data");
    uint64_t bytes = numel * 4;
    header += std::string(first ? "" : ",") + jsonQuote(name) + ":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < view.shape.size(); ++i)
      header += (i ? "," : "") + std::to_string(view.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    first = false;
    offset += bytes;
    sizes.push_back(bytes);
  }
  header += "}";
  // Pad with spaces (valid JSON whitespace) so the data area is 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + header.size() + offset);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  out += header;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (sizes[i])
      out.append(reinterpret_cast<const char *>(tensors[i].second.data), sizes[i]);
  return out;
}

Status writeSafetensors(const std::string &path,
                        const std::vector<std::pair<std::string, TensorF32View>> &tensors,
                        const std::map<std::string, std::string> &metadata) {
  StatusOr<std::string> bytes = serializeSafetensors(tensors, metadata);
  if (!bytes.ok()) {
    Status st = bytes.status();
    return st.context("writing '" + path + "'");
  }
  return writeFileAtomic(path, bytes->data(), bytes->size());
}

} // namespace hybrid
