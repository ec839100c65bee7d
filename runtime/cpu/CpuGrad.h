//===- CpuGrad.h - fp32 backward kernels of the tensor-level ops -*- C++ -*-===//
//
// The reference backward of every op of runtime/cpu/CpuKernels.h (training
// on the CPU executor, and the oracle of the CUDA backward). Each function
// takes the forward operands it needs plus dL/d(result) and writes the
// gradients of the operands; docs/KERNEL_SEMANTICS.md ("Backward") gives the
// formulas.
//
// Conventions (on top of CpuKernels.h's):
//  - gradients are OVERWRITTEN, never accumulated into (the autodiff pass
//    adds the contributions of a value used several times);
//  - any gradient pointer may be null: that gradient is not computed;
//  - a weight's gradient sums over every token of the batch;
//  - sums accumulate in double and are rounded once on store;
//  - no caches: training runs whole sequences from position 0, so conv and
//    scan start from zero state;
//  - attention recomputes its softmax one query row at a time (O(context)
//    scratch per row); the scan keeps one state per `chunk` tokens and
//    recomputes the states inside a chunk (no O(L * state) buffer).
//
// The fused ops' backward kernels (at the end, OpContext level) compose these.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_CPU_CPUGRAD_H
#define HYBRID_RUNTIME_CPU_CPUGRAD_H

#include "runtime/cpu/CpuKernels.h"
#include "runtime/exec/OpContext.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybrid::cpu {

//===----------------------------------------------------------------------===//
// Embedding, projections, loss
//===----------------------------------------------------------------------===//

/// dtable [V, D] = sum over the tokens t with ids[t] == v of dout[t, :]
/// (zero rows for unused ids; repeated ids accumulate). Fails on an id
/// outside [0, V).
Status embeddingGrad(const int32_t *ids, const float *dout, int64_t T, int64_t V, int64_t D,
                     float *dtable);

/// out = x w^T + bias: dx [T, K] = dout w, dw [N, K] = dout^T x,
/// dbias [N] = sum_t dout[t, :].
void linearGrad(const float *x, const float *w, const float *dout, int64_t T, int64_t K,
                int64_t N, float *dx, float *dw, float *dbias);

/// logits = x w^T (w [V, D]): linearGrad without bias.
void lmHeadGrad(const float *x, const float *w, const float *dout, int64_t T, int64_t D,
                int64_t V, float *dx, float *dw);

/// loss = mean over the n rows with labels >= 0 of -log softmax(logits)[label]:
/// dlogits[t, :] = dloss / n * (softmax(logits[t]) - onehot(labels[t])) for
/// counted rows, 0 for ignored rows (and everywhere when n == 0). Fails on
/// a label >= V.
Status crossEntropyGrad(const float *logits, const int32_t *labels, int64_t T, int64_t V,
                        double dloss, float *dlogits);

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

void rmsnormGrad(const float *x, const float *w, const float *dout, int64_t T, int64_t D,
                 double eps, float *dx, float *dw);

Status groupNormGrad(const float *x, const float *w, const float *dout, int64_t T, int64_t D,
                     int64_t groups, double eps, float *dx, float *dw);

/// Both gate orders of gatedRmsNorm: dy, dz [T, D], dw [D].
Status gatedRmsNormGrad(const float *y, const float *z, const float *w, const float *dout,
                        int64_t T, int64_t D, int64_t groups, double eps, bool normBeforeGate,
                        float *dy, float *dz, float *dw);

//===----------------------------------------------------------------------===//
// Mamba-2 sequence ops (zero initial state)
//===----------------------------------------------------------------------===//

/// dx [B, L, C], dw [C, K], dbias [C] of conv1dCausal with a null state.
void conv1dCausalGrad(const float *x, const float *w, const float *dout, int64_t B, int64_t L,
                      int64_t C, int64_t K, float *dx, float *dw, float *dbias);

/// Gradients of ssdScan (null state) by the reverse-time recurrence in
/// double: dx [B, L, H, P], ddt [B, L, H], daLog [H], dbm, dcm [B, L, G, N],
/// dd [H] (ignored when d is null). `chunk` is only the spacing of the
/// stored states (results do not depend on it). Fails like ssdScan.
Status ssdScanGrad(const float *x, const float *dt, const float *aLog, const float *bm,
                   const float *cm, const float *d, const float *dy, int64_t B, int64_t L,
                   int64_t H, int64_t P, int64_t G, int64_t N, int64_t chunk, float *dx,
                   float *ddt, float *daLog, float *dbm, float *dcm, float *dd);

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// RoPE is a rotation: dx = the inverse rotation of dout (same positions,
/// scaling and rotary_dim as the forward). dx may equal dout.
Status ropeGrad(const float *dout, int64_t B, int64_t L, int64_t H, int64_t Dh,
                const int64_t *pos0, double theta, const RopeScaling &scaling, int64_t rotaryDim,
                float *dx);

/// Causal GQA attention without caches: dq [B, L, Hq, Dh], dk, dv
/// [B, L, Hkv, Dh] (dk/dv sum over the query heads sharing a kv head).
Status attentionGrad(const float *q, const float *k, const float *v, const float *dout,
                     int64_t B, int64_t L, int64_t Hq, int64_t Hkv, int64_t Dh, int64_t window,
                     double scale, float *dq, float *dk, float *dv);

//===----------------------------------------------------------------------===//
// Element-wise (dx may equal dout)
//===----------------------------------------------------------------------===//

void siluGrad(const float *x, const float *dout, int64_t n, float *dx);
/// sigmoid(x), and 1 above the forward's threshold 20.
void softplusGrad(const float *x, const float *dout, int64_t n, float *dx);
void relu2Grad(const float *x, const float *dout, int64_t n, float *dx);
/// dout where lo <= x <= hi, else 0.
void clampGrad(const float *x, const float *dout, int64_t n, double lo, double hi, float *dx);
void scaleGrad(const float *dout, int64_t n, double factor, float *dx);
void swigluGrad(const float *g, const float *u, const float *dout, int64_t n, float *dg,
                float *du);

/// Trailing broadcast (see add/mul): dlhs has lhs's shape, drhs rhs's shape
/// (summed over the broadcast positions). Fail like add/mul.
Status addGrad(const int64_t *lhsShape, int lhsRank, const int64_t *rhsShape, int rhsRank,
               const float *dout, float *dlhs, float *drhs);
Status mulGrad(const float *lhs, const int64_t *lhsShape, int lhsRank, const float *rhs,
               const int64_t *rhsShape, int rhsRank, const float *dout, float *dlhs,
               float *drhs);

/// da [T, Da], db [T, Db] from dout ([T, Da] or [T, Da + Db] for concat).
Status combineGrad(const float *dout, int64_t T, int64_t Da, int64_t Db, CombineMode mode,
                   float *da, float *db);

/// dx [T, D] = the pieces' gradients side by side; a null douts[i] counts
/// as zeros (a piece nobody used).
Status splitGrad(const float *const *douts, int64_t T, int64_t D, const int64_t *sizes, int count,
                 float *dx);

} // namespace hybrid::cpu

namespace hybrid {

//===----------------------------------------------------------------------===//
// Backward kernels of the fused ops (runtime/cpu/CpuGradFused.cpp), with the
// "<op>.grad" operand convention of OpContext.h; registered in
// runtime/cpu/CpuGradOps.cpp.
//===----------------------------------------------------------------------===//

Status runRopeAttentionGrad(OpContext &ctx);
Status runMamba2CoreGrad(OpContext &ctx);
Status runLinearGroupGrad(OpContext &ctx);
Status runLinearSumGrad(OpContext &ctx);
Status runBranchCombineGrad(OpContext &ctx);
Status runAddRmsNormGrad(OpContext &ctx);
Status runFusedLinearGrad(OpContext &ctx);
Status runSwigluLinearGrad(OpContext &ctx);

/// Every registered "<op>.grad" name (runtime/cpu/CpuGradOps.cpp).
std::vector<std::string> cpuGradKernelNames();

namespace gradops {
/// A "<op>.grad" context split back into the forward op's view: the
/// forward inputs (as many as ctx.outputs), results and result gradients.
struct GradView {
  std::vector<TensorRef> x, y, dy;
  /// The forward op's context (inputs x, outputs y, same attributes), for
  /// helpers written against the forward's operand layout.
  OpContext fwd;
};
StatusOr<GradView> gradView(const OpContext &ctx);
/// The float data of an optional tensor, null when absent.
inline float *ptrOf(const TensorRef *t) { return t && t->valid() ? t->f() : nullptr; }
inline int64_t rowsOf(const TensorRef &t) { return t.numel() / t.shape.back(); }
/// The numbers of an Ints or Floats attribute as doubles; false when absent.
bool attrNumbers(const OpContext &c, const std::string &key, std::vector<double> &out);
} // namespace gradops

} // namespace hybrid

#endif // HYBRID_RUNTIME_CPU_CPUGRAD_H
