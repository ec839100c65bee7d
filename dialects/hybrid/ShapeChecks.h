//===- ShapeChecks.h - Shape checks shared by the op verifiers --*- C++ -*-===//
//
// The building blocks of the tensor-level verifiers (HybridOps.cpp) and of
// the fused ones (HybridFusedOps.cpp), so that a fused op words its errors
// exactly as the ops it replaces. Dynamic dims match anything.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_DIALECTS_HYBRID_SHAPECHECKS_H
#define HYBRIDC_DIALECTS_HYBRID_SHAPECHECKS_H

#include "dialects/hybrid/HybridDialect.h"

#include "llvm/ADT/Twine.h"

#include <string>

namespace mlir::hybrid::shape {

inline bool same(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

inline std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

inline RankedTensorType rt(Value v) { return cast<RankedTensorType>(v.getType()); }

inline LogicalResult expectRank(Operation *op, const Twine &what, Value v, int64_t rank) {
  if (rt(v).getRank() != rank)
    return op->emitOpError() << what << " must have rank " << rank << ", got " << rt(v).getRank();
  return success();
}

inline LogicalResult expectDim(Operation *op, const Twine &what, int64_t got,
                               const Twine &against, int64_t want) {
  if (!same(got, want))
    return op->emitOpError() << what << " (" << dimStr(got) << ") must equal " << against
                             << " (" << dimStr(want) << ")";
  return success();
}

/// q [B, L, Hq, D], k and v [B, L, Hkv, D] with Hkv dividing Hq; window >= 0.
inline LogicalResult verifyAttentionOperands(Operation *op, Value qv, Value kv, Value vv,
                                             int64_t window) {
  for (auto [name, v] : {std::pair<const char *, Value>{"q", qv}, {"k", kv}, {"v", vv}})
    if (failed(expectRank(op, name, v, 4)))
      return failure();
  auto q = rt(qv).getShape(), k = rt(kv).getShape(), v = rt(vv).getShape();
  for (int i = 0; i < 4; ++i)
    if (!same(k[i], v[i]))
      return op->emitOpError("k and v must have the same shape");
  if (failed(expectDim(op, "k batch", k[0], "q batch", q[0])) ||
      failed(expectDim(op, "k sequence", k[1], "q sequence", q[1])) ||
      failed(expectDim(op, "k head dim", k[3], "q head dim", q[3])))
    return failure();
  if (!ShapedType::isDynamic(q[2]) && !ShapedType::isDynamic(k[2]) &&
      (k[2] <= 0 || q[2] % k[2] != 0))
    return op->emitOpError() << "kv heads (" << k[2] << ") must divide query heads (" << q[2]
                             << ")";
  if (window < 0)
    return op->emitOpError("window must be >= 0");
  return success();
}

} // namespace mlir::hybrid::shape

#endif // HYBRIDC_DIALECTS_HYBRID_SHAPECHECKS_H
