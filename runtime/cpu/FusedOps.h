//===- FusedOps.h - CPU kernels of the fused ops ----------------*- C++ -*-===//
//
// One kernel per op of dialects/hybrid/HybridFusedOps.td, each the
// composition of the fp32 kernels of runtime/cpu/CpuKernels.h in the order
// of the unfused op group, so fused == unfused up to fp32 rounding
// (tests/unit/runtime/FusedOpsTest.cpp checks <= 1e-5 relative).
//
// Rows to add to kCpuOps (runtime/cpu/CpuOps.cpp):
//   {"rope_attention", runRopeAttention},
//   {"mamba2_core", runMamba2Core},
//   {"linear_group", runLinearGroup},
//   {"linear_sum", runLinearSum},
//   {"branch_combine", runBranchCombine},
//   {"add_rmsnorm", runAddRmsNorm},
//   {"fused_linear", runFusedLinear},
//   {"swiglu_linear", runSwigluLinear},
//
// Operands arrive in ODS order, absent optional operands left out; the op's
// `operandSegmentSizes` (an Ints attribute) tells which groups are present.
// Float arrays (`scales`, `dt_limit`) are Floats attributes. Enum attributes
// are strings: `mode` "add|mean|diff|concat", `norm` "rms|group".
//
// Caches: rope_attention uses the K/V cache slot as attention does;
// mamba2_core uses both the conv and the SSM state of its layer's slot
// (conv [B, K-1, conv_dim], ssm [B, heads, head_dim, state]).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_CPU_FUSEDOPS_H
#define HYBRID_RUNTIME_CPU_FUSEDOPS_H

#include "runtime/exec/OpContext.h"

namespace hybrid {

/// q, k, v -> attention(rope(q), rope(k), v); attrs theta, scaling.*,
/// rotary_dim, window, scale.
Status runRopeAttention(OpContext &ctx);
/// parts (zxbcdt | z, xBC, dt), conv_weight, conv_bias?, dt_bias, a_log, d?,
/// norm_weight? -> [B, L, inner].
Status runMamba2Core(OpContext &ctx);
/// input, weights..., biases... -> results[i] = scales[i] * (x W_i^T + b_i).
Status runLinearGroup(OpContext &ctx);
/// inputs..., weights... -> sum_i scales[i] * (x_i W_i^T).
Status runLinearSum(OpContext &ctx);
/// a, b, weight_a, weight_b -> combine(scale_a * norm(a), scale_b * norm(b)).
Status runBranchCombine(OpContext &ctx);
/// lhs, rhs, weight -> (lhs + rhs, rmsnorm(lhs + rhs)).
Status runAddRmsNorm(OpContext &ctx);
/// input, weight, bias?, residual? -> scale * (x W^T + b) + residual.
Status runFusedLinear(OpContext &ctx);
/// input, gate, up, [gate_bias, up_bias] -> silu(gate_scale * (x Wg^T + bg)) * (x Wu^T + bu).
Status runSwigluLinear(OpContext &ctx);

} // namespace hybrid

#endif // HYBRID_RUNTIME_CPU_FUSEDOPS_H
