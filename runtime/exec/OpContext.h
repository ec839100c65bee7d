//===- OpContext.h - What a CPU kernel sees of one instruction --*- C++ -*-===//
//
// The executor resolves an instruction's operands into TensorRefs (pointer +
// full shape, [B, L, trailing...] for activations, the weight's shape for
// weights) and hands them, with the instruction's attributes and its cache
// slot, to the kernel registered for the op name (runtime/cpu/CpuOps.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_EXEC_OPCONTEXT_H
#define HYBRID_RUNTIME_EXEC_OPCONTEXT_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hybrid {

struct TensorRef {
  void *data = nullptr;  // float* (F32) or int32_t* (I32)
  std::vector<int64_t> shape;
  bool isInt = false;
  float *f() const { return static_cast<float *>(data); }
  const int32_t *i32() const { return static_cast<const int32_t *>(data); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  int64_t dim(int i) const { return shape[i < 0 ? shape.size() + i : i]; }
  bool valid() const { return data != nullptr; }
};

/// A cache slot of one layer for the whole batch; unused pointers are null.
struct CacheRef {
  float *k = nullptr, *v = nullptr;  // [B, maxContext, kvHeads, headDim]
  int64_t maxContext = 0;
  float *conv = nullptr;             // [B, width - 1, channels]
  float *ssm = nullptr;              // [B, heads, headDim, state]
};

/// An attribute value as stored in the artifact.
struct AttrValue {
  enum Kind { Int, Float, Str, Ints, Floats } kind = Int;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
};

struct OpContext {
  std::string op;
  std::vector<TensorRef> inputs;   // an absent optional operand: !valid()
  std::vector<TensorRef> outputs;
  std::map<std::string, AttrValue> attrs;
  const CacheRef *cache = nullptr; // null when the op has no cache slot
  int64_t batch = 0, seq = 0;      // B and L of this run
  const int64_t *pos0 = nullptr;   // [B]: tokens already in the caches

  int64_t attrInt(const std::string &k, int64_t dflt) const {
    auto it = attrs.find(k);
    return it == attrs.end() ? dflt : (it->second.kind == AttrValue::Float ? (int64_t)it->second.f : it->second.i);
  }
  double attrF64(const std::string &k, double dflt) const {
    auto it = attrs.find(k);
    return it == attrs.end() ? dflt : (it->second.kind == AttrValue::Int ? (double)it->second.i : it->second.f);
  }
  std::string attrStr(const std::string &k, const std::string &dflt) const {
    auto it = attrs.find(k);
    return it == attrs.end() ? dflt : it->second.s;
  }
  const std::vector<int64_t> *attrInts(const std::string &k) const {
    auto it = attrs.find(k);
    return it == attrs.end() ? nullptr : &it->second.ints;
  }
  bool hasAttr(const std::string &k) const { return attrs.count(k) != 0; }
};

/// A CPU kernel: reads ctx.inputs, writes ctx.outputs (already allocated).
///
/// Backward kernels (training) are registered under "<op>.grad" and see, for
/// a forward op with inputs x_1..x_n and results y_1..y_m:
///   ctx.inputs  = x_1..x_n, y_1..y_m, dL/dy_1..dL/dy_m
///   ctx.outputs = dL/dx_1..dL/dx_n, each with the shape of its x_i; a
///                 gradient nobody needs (token ids, or pruned) is !valid().
/// They OVERWRITE their outputs (the autodiff pass adds contributions of
/// values used several times explicitly), read the forward op's attributes,
/// and have no cache (training runs whole sequences from position 0). A
/// weight's gradient sums over every token of the batch.
using CpuKernelFn = Status (*)(OpContext &ctx);

/// The kernel registered for `op` (runtime/cpu/CpuOps.cpp; "<op>.grad"
/// names come from runtime/cpu/CpuGradOps.cpp), or null.
CpuKernelFn findCpuKernel(const std::string &op);
/// The backward kernel of `forwardOp` (registered as "<forwardOp>.grad"), or null.
CpuKernelFn findCpuGradKernel(const std::string &forwardOp);
/// Every registered op name (for diagnostics and the artifact check).
std::vector<std::string> cpuKernelNames();

} // namespace hybrid

#endif // HYBRID_RUNTIME_EXEC_OPCONTEXT_H
