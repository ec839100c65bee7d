// RUN: hybrid-opt %models/tiny.mlir --hybrid-fused-pipeline | FileCheck %s
// RUN: hybrid-opt %models/tiny.mlir --hybrid-fused-pipeline | FileCheck %s --check-prefix=GONE
// RUN: hybrid-opt %models/public/falcon-h1-0.5b.mlir --hybrid-fused-pipeline | FileCheck %s --check-prefix=FALCON

// The whole fused pipeline on the demo model (layers "MAMPAM"): every layer
// keeps exactly its fused ops and none of the ops they replace survive.

// GONE-LABEL: func.func @tiny
// GONE-NOT:   hybrid.ssd_scan
// GONE-NOT:   hybrid.conv1d_causal
// GONE-NOT:   hybrid.rope %
// GONE-NOT:   hybrid.attention %
// GONE-NOT:   hybrid.swiglu %
// GONE-NOT:   hybrid.group_norm
// GONE-NOT:   hybrid.combine
// GONE-NOT:   hybrid.add %
// GONE:       hybrid.lm_head

// Layer by layer: embedding, then M, A, M, P, A, M; each FFN is one
// swiglu_linear, each residual add + next norm one add_rmsnorm.
// CHECK-LABEL: func.func @tiny
// CHECK:       hybrid.embedding
// CHECK:       hybrid.rmsnorm
// CHECK:       hybrid.mamba2_core
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.swiglu_linear
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.linear_group %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] :
// CHECK:       hybrid.rope_attention
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.swiglu_linear
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.mamba2_core
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.swiglu_linear
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.linear_group %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] :
// CHECK:       hybrid.rope_attention
// CHECK:       hybrid.mamba2_core
// CHECK:       hybrid.branch_combine <diff>
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.swiglu_linear
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.linear_group
// CHECK:       hybrid.rope_attention
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.swiglu_linear
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.mamba2_core
// CHECK:       hybrid.add_rmsnorm
// CHECK:       hybrid.swiglu_linear
// CHECK:       hybrid.add_rmsnorm
// CHECK-NEXT:  hybrid.lm_head

// Falcon-H1-0.5B: every layer is parallel with multipliers; all of them fuse.
// FALCON-NOT:  hybrid.ssd_scan
// FALCON-NOT:  hybrid.rope %
// FALCON-NOT:  hybrid.swiglu %
// FALCON-NOT:  hybrid.combine <add>
// FALCON:      hybrid.linear_group {{.*}} {scales = array<f64:
// FALCON:      hybrid.mamba2_core
// FALCON:      hybrid.linear_sum
// FALCON:      hybrid.swiglu_linear {{.*}}gate_scale
