//===- OpAttrs.h - Attributes of the artifact as kernel arguments -*- C++ -*-===//
//
// Decoding shared by the forward, fused and backward kernel adapters, so
// that an attribute means the same thing to all of them.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_CPU_OPATTRS_H
#define HYBRID_RUNTIME_CPU_OPATTRS_H

#include "runtime/cpu/CpuKernels.h"
#include "runtime/exec/OpContext.h"

namespace hybrid {

/// The RoPE scaling stored under `prefix`.type/.factor/... ("scaling" for
/// rope and rope_attention); Kind::None when absent.
StatusOr<cpu::RopeScaling> ropeScalingAttr(const OpContext &c, const std::string &prefix);

/// The combine mode in attribute `key` ("mode"): add | mean | diff | concat.
StatusOr<cpu::CombineMode> combineModeAttr(const OpContext &c, const std::string &key = "mode");

} // namespace hybrid

#endif // HYBRID_RUNTIME_CPU_OPATTRS_H
