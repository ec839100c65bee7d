//===- HybridFusedOps.td - Fused tensor-level ops ----------*- tablegen -*-===//
//
// Ops that the --hybrid-fuse-* passes create from groups of tensor-level ops.
// Each one computes exactly what the group computed (the CPU executor checks
// fused == unfused logits); codegen gives each a kernel.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_FUSED_OPS
#define HYBRID_FUSED_OPS

#endif // HYBRID_FUSED_OPS
