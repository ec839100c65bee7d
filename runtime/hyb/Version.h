//===- Version.h - .hyb format version --------------------------*- C++ -*-===//
#ifndef HYBRID_RUNTIME_HYB_VERSION_H
#define HYBRID_RUNTIME_HYB_VERSION_H

namespace hybrid {
/// Bumped whenever hyb.fbs or the meaning of a field changes; the loader
/// rejects any other version with a message naming both.
constexpr unsigned kFormatVersion = 3;
constexpr const char *kProducerVersion = "0.1";
} // namespace hybrid

#endif // HYBRID_RUNTIME_HYB_VERSION_H
