//===- Data.cpp - Token streams and batches for training ------------------===//
#include "runtime/train/Data.h"

#include "runtime/support/Sampling.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

namespace hybrid {

const char *dataFormatName(DataFormat format) {
  switch (format) {
  case DataFormat::Bytes: return "bytes";
  case DataFormat::UInt16: return "uint16";
  case DataFormat::UInt32: return "uint32";
  }
  return "?";
}

bool parseDataFormat(const std::string &name, DataFormat *format) {
  if (name == "bytes")
    *format = DataFormat::Bytes;
  else if (name == "uint16")
    *format = DataFormat::UInt16;
  else if (name == "uint32")
    *format = DataFormat::UInt32;
  else
    return false;
  return true;
}

uint64_t TokenStream::fingerprint() const {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int32_t t : tokens)
    for (int b = 0; b < 4; ++b)
      h = (h ^ ((static_cast<uint32_t>(t) >> (8 * b)) & 0xff)) * 0x100000001b3ull;
  return h;
}

namespace {

StatusOr<std::string> readWholeFile(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return HYBRID_ERROR("data file ", path, " is a directory; name the files in it");
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return HYBRID_ERROR("cannot open data file ", path, ": ", std::strerror(errno));
  std::string bytes;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    bytes.append(buf, n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad)
    return HYBRID_ERROR("error reading data file ", path);
  return bytes;
}

} // namespace

StatusOr<TokenStream> loadTokenStream(const std::vector<std::string> &paths, DataFormat format,
                                      int64_t vocab) {
  if (paths.empty())
    return HYBRID_ERROR("no data file given");
  TokenStream stream;
  const size_t width = format == DataFormat::Bytes ? 1 : format == DataFormat::UInt16 ? 2 : 4;
  for (const std::string &path : paths) {
    HYBRID_ASSIGN_OR_RETURN(std::string bytes, readWholeFile(path));
    if (bytes.empty())
      return HYBRID_ERROR("data file ", path, " is empty");
    if (bytes.size() % width != 0)
      return HYBRID_ERROR("data file ", path, " has ", bytes.size(),
                          " bytes, not a multiple of ", width, " (--data-dtype ",
                          dataFormatName(format), ")");
    const size_t count = bytes.size() / width;
    const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
    stream.tokens.reserve(stream.tokens.size() + count);
    for (size_t i = 0; i < count; ++i) {
      uint64_t id = 0;
      for (size_t b = 0; b < width; ++b) // little endian
        id |= static_cast<uint64_t>(p[i * width + b]) << (8 * b);
      if (static_cast<int64_t>(id) >= vocab)
        return HYBRID_ERROR("data file ", path, ": token ", i, " is ", id,
                            ", outside the model's vocabulary of ", vocab,
                            format == DataFormat::Bytes ? " (byte-level data needs vocab >= 256)"
                                                        : "");
      stream.tokens.push_back(static_cast<int32_t>(id));
    }
  }
  return stream;
}

StatusOr<BatchSampler> BatchSampler::create(std::vector<int32_t> stream, double valFraction,
                                            int64_t seq, uint64_t seed, const std::string &what) {
  if (seq < 1)
    return HYBRID_ERROR("sequence length must be >= 1, got ", seq);
  if (!(valFraction >= 0 && valFraction < 1))
    return HYBRID_ERROR("validation fraction must be in [0, 1), got ", valFraction);
  const int64_t n = static_cast<int64_t>(stream.size());
  if (n == 0)
    return HYBRID_ERROR(what, " holds no tokens");
  const int64_t val = static_cast<int64_t>(std::ceil(static_cast<double>(n) * valFraction));
  const int64_t train = n - val;
  if (train < seq + 1)
    return HYBRID_ERROR(what, " has ", n, " tokens: its training part (", train,
                        " tokens) is shorter than one window of --seq ", seq, " + 1 = ", seq + 1);
  if (val > 0 && val < seq + 1)
    return HYBRID_ERROR(what, " has ", n, " tokens: its held-out part (", val, " tokens, ",
                        valFraction * 100, "%) is shorter than one window of --seq ", seq,
                        " + 1 = ", seq + 1, "; raise --val-fraction or use more data");
  BatchSampler s;
  s.tokens_ = std::move(stream);
  s.trainEnd_ = train;
  s.seq_ = seq;
  s.seed_ = seed;
  return s;
}

std::vector<int64_t> BatchSampler::trainOffsets(int64_t step, int64_t micro, int64_t batch) const {
  // splitmix-style mixing of (seed, step, micro) into one Rng seed.
  uint64_t key = seed_ ^ (static_cast<uint64_t>(step) * 0x9E3779B97F4A7C15ull) ^
                 (static_cast<uint64_t>(micro) * 0xC2B2AE3D27D4EB4Full);
  Rng rng(key);
  const uint64_t range = static_cast<uint64_t>(trainEnd_ - seq_); // offsets in [0, range]
  std::vector<int64_t> offsets(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b)
    offsets[b] = static_cast<int64_t>(rng.next() % (range + 1));
  return offsets;
}

void BatchSampler::fill(const int64_t *offsets, int64_t batch, Batch *out) const {
  out->batch = batch;
  out->seq = seq_;
  out->ids.resize(static_cast<size_t>(batch * seq_));
  out->labels.resize(static_cast<size_t>(batch * seq_));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq_; ++t) {
      out->ids[b * seq_ + t] = tokens_[offsets[b] + t];
      out->labels[b * seq_ + t] = tokens_[offsets[b] + t + 1];
    }
}

void BatchSampler::trainBatch(int64_t step, int64_t micro, int64_t batch, Batch *out) const {
  std::vector<int64_t> offsets = trainOffsets(step, micro, batch);
  fill(offsets.data(), batch, out);
}

int64_t BatchSampler::valBatchCount(int64_t batch, int64_t maxBatches) const {
  int64_t windows = valTokens() / (seq_ + 1); // disjoint windows that fit
  if (valTokens() < seq_ + 1 || batch < 1)
    return 0;
  int64_t count = std::max<int64_t>(1, windows / batch);
  return std::min(count, maxBatches);
}

void BatchSampler::valBatch(int64_t index, int64_t count, int64_t batch, Batch *out) const {
  // count x batch windows spread evenly over [trainEnd_, size - seq - 1].
  const int64_t total = count * batch;
  const int64_t last = static_cast<int64_t>(tokens_.size()) - (seq_ + 1);
  const int64_t span = last - trainEnd_;
  std::vector<int64_t> offsets(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    int64_t w = index * batch + b;
    offsets[b] = trainEnd_ + (total > 1 ? span * w / (total - 1) : 0);
  }
  fill(offsets.data(), batch, out);
}

} // namespace hybrid
