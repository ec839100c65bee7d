//===- CpuKernels.h - fp32 reference kernels, one per tensor-level op -----===//
//
// The CPU reference kernels: the correctness oracle of the project (the CUDA
// executor is compared against them). One function per tensor-level op of the
// hybrid dialect (dialects/hybrid/HybridOps.td); exact formulas and layouts are
// in docs/KERNEL_SEMANTICS.md.
//
// Conventions:
//  - every tensor is fp32, row-major and contiguous; sizes are int64_t;
//  - T = B * L tokens ("rows"); [B, L, ...] and [T, ...] are the same memory;
//  - reductions (dot products, means, softmax sums, scan states) accumulate
//    in double and round once to fp32 on store, so the result is the fp32
//    rounding of the exact value up to ~1e-7 relative;
//  - outputs never alias inputs unless a function says so (rope, the
//    element-wise ones);
//  - functions whose inputs can be invalid (ids out of range, shapes that do
//    not divide, cache overflow) return a Status naming the culprit; the rest
//    return void and trust their sizes.
//
// Clarity beats speed here, but no kernel uses more than O(rows) scratch
// beyond its outputs (attention is computed query row by query row).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_CPU_CPUKERNELS_H
#define HYBRID_RUNTIME_CPU_CPUKERNELS_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <vector>

namespace hybrid::cpu {

//===----------------------------------------------------------------------===//
// Embedding, projections, loss
//===----------------------------------------------------------------------===//

/// out[t, :] = table[ids[t], :]; table [V, D], ids [T], out [T, D].
/// Fails on an id outside [0, V), naming the token index and the id.
Status embedding(const float *table, const int32_t *ids, int64_t T, int64_t V, int64_t D,
                 float *out);

/// out[t, n] = sum_k x[t, k] * w[n, k] (+ bias[n]); x [T, K], w [N, K]
/// (PyTorch nn.Linear layout), bias [N] or null, out [T, N].
void linear(const float *x, const float *w, const float *bias, int64_t T, int64_t K, int64_t N,
            float *out);

/// logits [T, V] = x [T, D] @ w[V, D]^T (linear without bias).
void lmHead(const float *x, const float *w, int64_t T, int64_t D, int64_t V, float *out);

/// Mean over the tokens with labels[t] >= 0 of -log softmax(logits[t])[labels[t]];
/// logits [T, V], labels [T]. labels[t] is the target of row t (the caller
/// shifts for next-token prediction). 0 when every label is ignored; fails on
/// a label >= V.
StatusOr<double> crossEntropy(const float *logits, const int32_t *labels, int64_t T, int64_t V);

//===----------------------------------------------------------------------===//
// Norms (over the last dim of [T, D])
//===----------------------------------------------------------------------===//

/// out = x / sqrt(mean(x^2) + eps) * w; w [D].
void rmsnorm(const float *x, const float *w, int64_t T, int64_t D, double eps, float *out);

/// Per group of D/groups consecutive channels: (x - mean) / sqrt(var + eps),
/// var biased; then * w[D]. Fails when groups does not divide D.
Status groupNorm(const float *x, const float *w, int64_t T, int64_t D, int64_t groups, double eps,
                 float *out);

/// Mamba-2 output norm. Default: g = y * silu(z), per group of D/groups
/// channels g / sqrt(mean(g^2) + eps) * w. normBeforeGate: per group
/// y / sqrt(mean(y^2) + eps) * w * silu(z). Fails when groups does not divide D.
Status gatedRmsNorm(const float *y, const float *z, const float *w, int64_t T, int64_t D,
                    int64_t groups, double eps, bool normBeforeGate, float *out);

//===----------------------------------------------------------------------===//
// Mamba-2 sequence ops
//===----------------------------------------------------------------------===//

/// Depthwise causal conv: x [B, L, C], w [C, K] (the [C, 1, K] weight),
/// bias [C] or null, out [B, L, C]:
///   out[b, l, c] = bias[c] + sum_k w[c, k] * xin[b, l - K + 1 + k, c]
/// where positions < 0 read state[b, K - 1 + pos, c] (state [B, K-1, C], the
/// K-1 inputs preceding this call, oldest first) or 0 when state is null.
/// A non-null state is updated to the last K-1 inputs (of state ++ x), so
/// prefill followed by decode equals one pass.
void conv1dCausal(const float *x, const float *w, const float *bias, int64_t B, int64_t L,
                  int64_t C, int64_t K, float *state, float *out);

/// Mamba-2 SSD scan, chunked algorithm (see KERNEL_SEMANTICS.md).
/// x [B, L, H, P], dt [B, L, H] (already softplus'ed), aLog [H] (A = -exp),
/// bm, cm [B, L, G, N] (head h reads group h / (H/G)), d [H] or null,
/// state [B, H, P, N] or null, y [B, L, H, P]:
///   h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T;  y_t = C_t h_t + D x_t.
/// `chunk` (>= 1) need not divide L. A non-null state is the initial state
/// and is updated to the final one; null means zeros. Fails when G does not
/// divide H or chunk < 1.
Status ssdScan(const float *x, const float *dt, const float *aLog, const float *bm,
               const float *cm, const float *d, int64_t B, int64_t L, int64_t H, int64_t P,
               int64_t G, int64_t N, int64_t chunk, float *state, float *y);

/// The same scan by the plain per-token recurrence (test oracle, decode
/// reference). `chunk` is ignored.
Status ssdScanNaive(const float *x, const float *dt, const float *aLog, const float *bm,
                    const float *cm, const float *d, int64_t B, int64_t L, int64_t H, int64_t P,
                    int64_t G, int64_t N, int64_t chunk, float *state, float *y);

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

struct RopeScaling {
  enum class Kind { None, Linear, Llama3 };
  Kind kind = Kind::None;
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPosition = 8192;
};

/// The rotary inverse frequencies (rotaryDim/2 of them), as transformers
/// computes them: inv_freq[i] = theta^(-2i/rotaryDim), then divided by
/// factor (linear) or rescaled per band (llama3), rounded to fp32.
std::vector<float> ropeInvFreq(double theta, int64_t rotaryDim, const RopeScaling &scaling);

/// Rotary embedding on x [B, L, H, Dh] (out may equal x). Token l of batch
/// row b has position pos0[b] + l (pos0 null: 0). For i < rd/2 (rd =
/// rotaryDim, 0 meaning Dh) the pair (i, i + rd/2) rotates by angle
/// fp32(pos * inv_freq[i]) ("rotate_half" convention); channels >= rd pass
/// through. Fails when rd is odd or > Dh.
Status rope(const float *x, int64_t B, int64_t L, int64_t H, int64_t Dh, const int64_t *pos0,
            double theta, const RopeScaling &scaling, int64_t rotaryDim, float *out);

/// Causal softmax attention with GQA: q [B, L, Hq, Dh], k, v [B, L, Hkv, Dh],
/// out [B, L, Hq, Dh]; query head h uses kv head h / (Hq/Hkv); scale <= 0
/// means 1/sqrt(Dh); window > 0 keeps keys [p - window + 1, p] of the query
/// at position p (window 0: all keys up to p).
/// With caches (kCache, vCache [B, maxCtx, Hkv, Dh], both or neither): the L
/// new keys/values are written at positions pos0[b] .. pos0[b] + L - 1 (pos0
/// null: 0) and each query attends to cache entries; fails when pos0 + L >
/// maxCtx. Without caches: plain causal attention over the L tokens (pos0
/// ignored). Fails when Hkv does not divide Hq.
Status attention(const float *q, const float *k, const float *v, int64_t B, int64_t L, int64_t Hq,
                 int64_t Hkv, int64_t Dh, int64_t window, double scale, float *kCache,
                 float *vCache, int64_t maxCtx, const int64_t *pos0, float *out);

//===----------------------------------------------------------------------===//
// Element-wise (out may equal an input)
//===----------------------------------------------------------------------===//

/// x * sigmoid(x).
void silu(const float *x, int64_t n, float *out);
/// log(1 + exp(x)); x for x > 20 (PyTorch's threshold).
void softplus(const float *x, int64_t n, float *out);
/// max(x, 0)^2.
void relu2(const float *x, int64_t n, float *out);
/// min(max(x, lo), hi).
void clamp(const float *x, int64_t n, double lo, double hi, float *out);
/// x * factor.
void scale(const float *x, int64_t n, double factor, float *out);
/// silu(g) * u.
void swiglu(const float *g, const float *u, int64_t n, float *out);

/// lhs + rhs / lhs * rhs with trailing broadcast: rhs's dims align with the
/// trailing dims of lhs and each equals that dim or 1; out has lhs's shape.
/// Fails (naming both shapes) when they do not broadcast.
Status add(const float *lhs, const int64_t *lhsShape, int lhsRank, const float *rhs,
           const int64_t *rhsShape, int rhsRank, float *out);
Status mul(const float *lhs, const int64_t *lhsShape, int lhsRank, const float *rhs,
           const int64_t *rhsShape, int rhsRank, float *out);

/// For every element of lhs, the offset of the rhs element it pairs with
/// under trailing broadcast (used by add/mul and their gradients); fails
/// naming both shapes when they do not broadcast. rhsNumel: rhs's size.
Status broadcastOffsets(const char *name, const int64_t *lhsShape, int lhsRank,
                        const int64_t *rhsShape, int rhsRank, std::vector<int64_t> &offsets,
                        int64_t &rhsNumel);

enum class CombineMode { Add, Mean, Diff, Concat };
/// a [T, Da], b [T, Db]: add a + b, mean (a + b) / 2, diff a - b (out
/// [T, Da], Da == Db) or concat [a, b] (out [T, Da + Db]). Fails when
/// Da != Db for the element-wise modes.
Status combine(const float *a, const float *b, int64_t T, int64_t Da, int64_t Db,
               CombineMode mode, float *out);

/// x [T, D] split along the last dim into outs[i] [T, sizes[i]]; fails
/// unless the sizes are positive and sum to D.
Status split(const float *x, int64_t T, int64_t D, const int64_t *sizes, int count,
             float *const *outs);

} // namespace hybrid::cpu

#endif // HYBRID_RUNTIME_CPU_CPUKERNELS_H
