//===- FileUtil.cpp - Atomic file writes and .npy I/O ---------------------===//
#include "runtime/support/FileUtil.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace hybrid {

Status writeFileAtomic(const std::string &path, const void *data, size_t size) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return HYBRID_ERROR("cannot create '", tmp, "': ", std::strerror(errno));
  const char *p = static_cast<const char *>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return HYBRID_ERROR("cannot write '", tmp, "': ", std::strerror(e));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return HYBRID_ERROR("cannot flush '", tmp, "': ", std::strerror(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return HYBRID_ERROR("cannot rename '", tmp, "' to '", path, "': ", std::strerror(e));
  }
  return Status();
}

std::string npyFloat32(const float *data, const std::vector<int64_t> &shape) {
  std::ostringstream dict;
  dict << "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  size_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dict << shape[i] << (shape.size() == 1 || i + 1 < shape.size() ? ", " : "");
    count *= static_cast<size_t>(shape[i]);
  }
  dict << "), }";
  std::string header = dict.str();
  // Magic (6) + version (2) + length (2) + header + '\n', padded to 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>(len >> 8));
  out += header;
  out.append(reinterpret_cast<const char *>(data), count * sizeof(float));
  return out;
}

StatusOr<std::vector<float>> readNpyFloat32(const std::string &path,
                                            std::vector<int64_t> *shape) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return HYBRID_ERROR("cannot open '", path, "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return HYBRID_ERROR("'", path, "' is not a .npy file");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t hlen, off;
  if (major == 1) {
    hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    off = 10;
  } else {
    if (bytes.size() < 12)
      return HYBRID_ERROR("'", path, "': truncated .npy header");
    hlen = 0;
    for (int i = 0; i < 4; ++i)
      hlen |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    off = 12;
  }
  if (off + hlen > bytes.size())
    return HYBRID_ERROR("'", path, "': truncated .npy header");
  std::string header = bytes.substr(off, hlen);
  if (header.find("'<f4'") == std::string::npos)
    return HYBRID_ERROR("'", path, "': only little-endian float32 .npy is supported");
  if (header.find("'fortran_order': True") != std::string::npos)
    return HYBRID_ERROR("'", path, "': Fortran-order .npy is not supported");
  size_t lp = header.find('('), rp = header.find(')');
  if (lp == std::string::npos || rp == std::string::npos || rp < lp)
    return HYBRID_ERROR("'", path, "': .npy header has no shape");
  std::vector<int64_t> dims;
  std::stringstream ss(header.substr(lp + 1, rp - lp - 1));
  std::string item;
  size_t count = 1;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" ") == std::string::npos)
      continue;
    char *end = nullptr;
    long long d = std::strtoll(item.c_str(), &end, 10);
    if (end == item.c_str() || d < 0)
      return HYBRID_ERROR("'", path, "': bad .npy shape entry '", item, "'");
    dims.push_back(d);
    count *= static_cast<size_t>(d);
  }
  size_t data = off + hlen;
  if (bytes.size() - data != count * sizeof(float))
    return HYBRID_ERROR("'", path, "': expected ", count, " floats, file holds ",
                        (bytes.size() - data) / 4);
  std::vector<float> out(count);
  std::memcpy(out.data(), bytes.data() + data, count * sizeof(float));
  if (shape)
    *shape = dims;
  return out;
}

} // namespace hybrid

namespace hybrid {
std::string valueDumpDir() {
  const char *d = std::getenv("HYBRIDC_DUMP_VALUES");
  return d ? d : "";
}
std::string valueDumpPath(const std::string &dir, int instr, const std::string &op, int id) {
  char name[64];
  std::snprintf(name, sizeof name, "/%04d_v%d_", instr, id);
  return dir + name + op + ".npy";
}
} // namespace hybrid
