//===- mamba_bwd.cuh - Mamba-2 backward: gated norm, dt, conv + SiLU ------===//
//
// The memory-bound parts of mamba2_core.grad (runtime/cpu/CpuGradFused.cpp,
// runMamba2CoreGrad) on the device, fp32 math, fp32 gradients:
//   gated_norm_bwd_kernel  dy, dz and per-block dw of the gated RMSNorm
//                          (CpuGradNorms.cpp, gatedRmsNormGrad);
//   gate_silu_bwd_kernel   dy, dz of the plain gate out = y * silu(z) (no
//                          norm weight);
//   dt_bwd_kernel          d(dtRaw) and per-block d(dtBias) of
//                          dt = clamp(softplus(dtRaw + dtBias), lo, hi);
//   conv_silu_bwd_kernel   d(xBC) and per-block dw, dbias of
//                          act = silu(conv1d_causal(xBC)) (pre recomputed);
//   col_reduce_kernel      the partial rows summed in a fixed order into the
//                          weight gradients (no float atomics: the same bits
//                          on every run).
// Grids, threads, shared memory and scratch: MambaBwdArgs.h. The caller zeroes
// nothing; every kernel overwrites its outputs (col_reduce may accumulate).
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"
#include "MambaBwdArgs.h"

namespace hyb {
namespace mbwd {

__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + __expf(-x)); }
/// d silu(x) / dx = s (1 + x (1 - s)), s = sigmoid(x).
__device__ __forceinline__ float siluPrime(float x, float s) { return s * (1.f + x * (1.f - s)); }

/// V consecutive values (V = 1, 2 or 4) as fp32, aligned to V elements.
template <int V> __device__ __forceinline__ void loadV(const float *p, float (&o)[V]) {
  if constexpr (V == 4) {
    const float4 v = *reinterpret_cast<const float4 *>(p);
    o[0] = v.x, o[1] = v.y, o[2] = v.z, o[3] = v.w;
  } else if constexpr (V == 2) {
    const float2 v = *reinterpret_cast<const float2 *>(p);
    o[0] = v.x, o[1] = v.y;
  } else {
#pragma unroll
    for (int i = 0; i < V; ++i)
      o[i] = p[i];
  }
}
template <int V> __device__ __forceinline__ void loadV(const bf16_t *p, float (&o)[V]) {
  if constexpr (V == 4) {
    const uint2 u = *reinterpret_cast<const uint2 *>(p);
    const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(&u.x));
    const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(&u.y));
    o[0] = a.x, o[1] = a.y, o[2] = b.x, o[3] = b.y;
  } else if constexpr (V == 2) {
    const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(p));
    o[0] = a.x, o[1] = a.y;
  } else {
#pragma unroll
    for (int i = 0; i < V; ++i)
      o[i] = ld(p, i);
  }
}
template <int V> __device__ __forceinline__ void storeV(float *p, const float (&v)[V]) {
  if constexpr (V == 4) {
    *reinterpret_cast<float4 *>(p) = make_float4(v[0], v[1], v[2], v[3]);
  } else if constexpr (V == 2) {
    *reinterpret_cast<float2 *>(p) = make_float2(v[0], v[1]);
  } else {
#pragma unroll
    for (int i = 0; i < V; ++i)
      p[i] = v[i];
  }
}

} // namespace mbwd

//===----------------------------------------------------------------------===//
// Gated RMSNorm backward
//===----------------------------------------------------------------------===//

/// With v the normalised input (y * silu(z), or y when NormBeforeGate),
/// r = 1 / sqrt(mean_group(v^2) + eps), e the gradient reaching v r w
/// (dout, or dout * silu(z)) and g = e w:
///   dv = r g - r^3 v (g . v) / GS;   dw += e v r
///   NormBeforeGate false: dy = dv silu(z),  dz = dv y silu'(z)
///   NormBeforeGate true:  dy = dv,          dz = dout v r w silu'(z)
/// The row stays in registers (D / Threads values a thread). Group sums:
///   GS % Threads == 0            each thread sums its values of each group,
///                                one warp sum per group and warp, then
///                                every warp sums a group's warp sums;
///   D % Threads == 0, GS % 32 == 0  a warp sum per 32-value chunk, then
///                                every warp sums its group's chunk sums;
///   otherwise                    a generic loop over groups (blockSum) with
///                                the row reread, dw accumulated in the
///                                block's own partial row (small models).
/// One __syncthreads per row on the fast paths (double-buffered sums).
/// a.w must not be null (gate_silu_bwd_kernel is the op without the norm).
template <int D, int G, bool NormBeforeGate, int Threads, typename ZT>
__device__ __forceinline__ void gated_norm_bwd_kernel(const GatedNormGradArgs &a) {
  static_assert(D > 0 && D <= 16384 && G > 0 && D % G == 0, "gated_norm_bwd: G must divide D");
  static_assert(Threads % 32 == 0 && Threads <= 1024, "gated_norm_bwd: whole warps, <= 1024");
  constexpr int GS = D / G, NW = Threads / 32;
  constexpr bool PerGroup = GS % Threads == 0;
  constexpr bool PerChunk = !PerGroup && D % Threads == 0 && GS % 32 == 0;
  const ZT *zp = static_cast<const ZT *>(a.z);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const float invGS = 1.f / GS;

  if constexpr (PerGroup || PerChunk) {
    constexpr int PT = D / Threads;
    // Slots of the double-buffered sums: per (group, warp) or per chunk.
    constexpr int Slots = PerGroup ? G * NW : D / 32;
    __shared__ float2 red[2][Slots];
    float wv[PT], dwAcc[PT];
#pragma unroll
    for (int i = 0; i < PT; ++i)
      wv[i] = a.w[tid + i * Threads], dwAcc[i] = 0.f;
    int buf = 0;
    for (int64_t t = blockIdx.x; t < a.T; t += gridDim.x, buf ^= 1) {
      float yv[PT], zv[PT], ov[PT];
#pragma unroll
      for (int i = 0; i < PT; ++i) {
        const int c = tid + i * Threads;
        yv[i] = a.y[t * D + c];
        zv[i] = ld(zp, t * a.ldz + c);
        ov[i] = a.dout[t * D + c];
      }
      float v[PT], gg[PT], e[PT];
#pragma unroll
      for (int i = 0; i < PT; ++i) {
        const float sz = zv[i] * mbwd::sigmoidf(zv[i]);
        v[i] = NormBeforeGate ? yv[i] : yv[i] * sz;
        e[i] = NormBeforeGate ? ov[i] * sz : ov[i];
        gg[i] = e[i] * wv[i];
      }
      if constexpr (PerGroup) {
        constexpr int PTG = GS / Threads;  // consecutive i of one group
#pragma unroll
        for (int g = 0; g < G; ++g) {
          float ss = 0.f, gv = 0.f;
#pragma unroll
          for (int j = 0; j < PTG; ++j)
            ss += v[g * PTG + j] * v[g * PTG + j], gv += gg[g * PTG + j] * v[g * PTG + j];
          ss = warpSum(ss), gv = warpSum(gv);
          if (lane == 0)
            red[buf][g * NW + warp] = make_float2(ss, gv);
        }
      } else {
#pragma unroll
        for (int i = 0; i < PT; ++i) {
          const float ss = warpSum(v[i] * v[i]), gv = warpSum(gg[i] * v[i]);
          if (lane == 0)
            red[buf][i * NW + warp] = make_float2(ss, gv);
        }
      }
      __syncthreads();
      // A group's totals: its slots read by the lanes of a warp, then a
      // butterfly warp sum (the same bits on every lane, warp and run).
      float rG[PerGroup ? G : 1], kG[PerGroup ? G : 1];
      if constexpr (PerGroup) {
#pragma unroll
        for (int g = 0; g < G; ++g) {
          const float2 p = lane < NW ? red[buf][g * NW + lane] : make_float2(0.f, 0.f);
          const float ss = warpSum(p.x), gv = warpSum(p.y);
          rG[g] = rsqrtf(ss * invGS + a.eps);
          kG[g] = rG[g] * rG[g] * rG[g] * gv * invGS;
        }
      }
#pragma unroll
      for (int i = 0; i < PT; ++i) {
        float r, kk;
        if constexpr (PerGroup) {
          r = rG[i / (GS / Threads)], kk = kG[i / (GS / Threads)];
        } else {
          constexpr int CPG = GS / 32;
          const int g = (i * Threads + warp * 32) / GS;  // the same for the whole warp
          float ss = 0.f, gv = 0.f;
          for (int k = lane; k < CPG; k += 32) {
            const float2 p = red[buf][g * CPG + k];
            ss += p.x, gv += p.y;
          }
          ss = warpSum(ss), gv = warpSum(gv);
          r = rsqrtf(ss * invGS + a.eps), kk = r * r * r * gv * invGS;
        }
        const float dv = r * gg[i] - kk * v[i];
        const float s = mbwd::sigmoidf(zv[i]), sp = mbwd::siluPrime(zv[i], s);
        const int c = tid + i * Threads;
        float dy, dz;
        if (NormBeforeGate)
          dy = dv, dz = ov[i] * v[i] * r * wv[i] * sp;
        else
          dy = dv * zv[i] * s, dz = dv * yv[i] * sp;
        a.dy[t * D + c] = dy;
        a.dz[t * a.lddz + c] = dz;
        dwAcc[i] += e[i] * v[i] * r;
      }
    }
#pragma unroll
    for (int i = 0; i < PT; ++i)
      a.partial[(int64_t)blockIdx.x * D + tid + i * Threads] = dwAcc[i];
  } else {
    // Generic: any D, G (tiny or odd shapes). Element c of group g is owned
    // by thread (c - g GS) % Threads, always the same one.
    __shared__ float scratch[33];
    float *part = a.partial + (int64_t)blockIdx.x * D;
    for (int g = 0; g < G; ++g)
      for (int j = tid; j < GS; j += Threads)
        part[g * GS + j] = 0.f;
    for (int64_t t = blockIdx.x; t < a.T; t += gridDim.x) {
      for (int g = 0; g < G; ++g) {
        float ss = 0.f, gv = 0.f;
        for (int j = tid; j < GS; j += Threads) {
          const int c = g * GS + j;
          const float y = a.y[t * D + c], z = ld(zp, t * a.ldz + c), o = a.dout[t * D + c];
          const float sz = z * mbwd::sigmoidf(z);
          const float v = NormBeforeGate ? y : y * sz, e = NormBeforeGate ? o * sz : o;
          ss += v * v, gv += e * a.w[c] * v;
        }
        ss = blockSum(ss, scratch);
        gv = blockSum(gv, scratch);
        const float r = rsqrtf(ss * invGS + a.eps), kk = r * r * r * gv * invGS;
        for (int j = tid; j < GS; j += Threads) {
          const int c = g * GS + j;
          const float y = a.y[t * D + c], z = ld(zp, t * a.ldz + c), o = a.dout[t * D + c];
          const float w = a.w[c], s = mbwd::sigmoidf(z), sz = z * s, sp = mbwd::siluPrime(z, s);
          const float v = NormBeforeGate ? y : y * sz, e = NormBeforeGate ? o * sz : o;
          const float dv = r * e * w - kk * v;
          a.dy[t * D + c] = NormBeforeGate ? dv : dv * sz;
          a.dz[t * a.lddz + c] = NormBeforeGate ? o * v * r * w * sp : dv * y * sp;
          part[c] += e * v * r;
        }
      }
    }
  }
}

/// The gate without the norm (mamba2_core without norm_weight): out =
/// y * silu(z), dy = dout silu(z), dz = dout y silu'(z). Same arguments as
/// gated_norm_bwd_kernel (w and partial unused); any grid (rows i,
/// i + gridDim.x, ...), Threads threads.
template <int D, int Threads, typename ZT>
__device__ __forceinline__ void gate_silu_bwd_kernel(const GatedNormGradArgs &a) {
  const ZT *zp = static_cast<const ZT *>(a.z);
  for (int64_t t = blockIdx.x; t < a.T; t += gridDim.x)
#pragma unroll 4
    for (int c = threadIdx.x; c < D; c += Threads) {
      const float y = a.y[t * D + c], z = ld(zp, t * a.ldz + c), o = a.dout[t * D + c];
      const float s = mbwd::sigmoidf(z);
      a.dy[t * D + c] = o * z * s;
      a.dz[t * a.lddz + c] = o * y * mbwd::siluPrime(z, s);
    }
}

//===----------------------------------------------------------------------===//
// dt backward
//===----------------------------------------------------------------------===//

/// d(dtRaw) = ddt * [lo <= sp <= hi] * softplus'(pre), pre = dtRaw + dtBias,
/// sp = softplus(pre) as the forward computes it (fp32; slope exactly 1
/// above 20, the forward's threshold). Thread tid handles head tid % H of
/// rows tid / H, + Threads / H, ... of the block's row range, 4 rows' loads
/// issued before their math; the per-head sums of the block are added in
/// row order into partial[blockIdx.x, h]. Needs H <= Threads.
template <typename DtT, int Threads>
__device__ __forceinline__ void dt_bwd_kernel(const DtGradArgs &a) {
  static_assert(Threads % 32 == 0 && Threads <= 1024, "dt_bwd: whole warps, <= 1024");
  constexpr int U = 4;
  __shared__ float red[Threads];
  const DtT *raw = static_cast<const DtT *>(a.dtRaw);
  const int H = a.H, per = Threads / H, tid = threadIdx.x;
  const int h = tid % H, r0 = tid / H;
  const bool live = r0 < per;
  const int64_t rpb = ((int64_t)a.T + gridDim.x - 1) / gridDim.x;
  const int64_t t0 = (int64_t)blockIdx.x * rpb, t1 = min((int64_t)a.T, t0 + rpb);
  float acc = 0.f;
  if (live) {
    const float bias = a.dtBias[h];
    for (int64_t tb = t0 + r0; tb < t1; tb += (int64_t)U * per) {
      float pre[U], g[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int64_t t = tb + (int64_t)u * per;
        pre[u] = t < t1 ? ld(raw, t * a.lddt + h) + bias : 0.f;
        g[u] = t < t1 ? a.ddt[t * a.ldddt + h] : 0.f;
      }
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int64_t t = tb + (int64_t)u * per;
        if (t < t1) {
          const float sp = softplusf(pre[u]);
          // NaN passes (as without dt_limit), so it shows up downstream.
          const bool pass = !(sp < a.dtLo) && !(sp > a.dtHi);
          const float d = pass ? g[u] * (pre[u] > 20.f ? 1.f : 1.f / (1.f + expf(-pre[u]))) : 0.f;
          a.ddtRaw[t * a.ldddtRaw + h] = d;
          acc += d;
        }
      }
    }
  }
  if (!a.partial)
    return;
  red[tid] = acc;
  __syncthreads();
  if (tid < H) {
    float s = 0.f;
    for (int j = 0; j < per; ++j)
      s += red[j * H + tid];
    a.partial[(int64_t)blockIdx.x * H + tid] = s;
  }
}

//===----------------------------------------------------------------------===//
// Depthwise causal conv + SiLU backward
//===----------------------------------------------------------------------===//

/// With g = dact silu'(pre) (pre recomputed from x, w, bias):
///   dx[p] = sum_k w[k] g[p + K - 1 - k]  (g = 0 past the sequence end)
///   dw[k] = sum_l g[l] x[l - K + 1 + k];  dbias = sum_l g[l]
/// Lane `lane` of warp `warp` owns channels c0 .. c0 + V - 1, c0 =
/// (blockIdx.x * 32 + lane) V, and tokens [l0, l0 + convBwdSeg) of sequence
/// b: it streams tokens l0 .. l0 + Seg + K - 2 with a window of the last K-1
/// inputs (for pre) and of the last K-1 g (for dx), so each g is computed
/// where it is needed: the K-1 tokens past the segment are recomputed (their
/// rows come from L1/L2, the next warp reads them too). Runs of R tokens:
/// the loads of a run are issued before its math (R trades registers for
/// loads in flight). dw, dbias of the block (8 warps, consecutive segments)
/// are added in warp order through shared memory into partial row blockIdx.y.
template <int K, int V, typename XT, int R = 4>
__device__ __forceinline__ void conv_silu_bwd_kernel(const ConvGradArgs &a) {
  static_assert(K >= 1 && K <= 8, "conv_silu_bwd: kernel width must be 1..8");
  static_assert(V == 1 || V == 2 || V == 4, "conv_silu_bwd: 1, 2 or 4 channels a lane");
  static_assert(R >= 1 && R <= 8, "conv_silu_bwd: runs of 1..8 tokens");
  constexpr int S = K - 1, Seg = convBwdSeg, NW = convBwdThreads / 32, NV = V * (K + 1);
  __shared__ float red[NW][NV][32];
  const XT *x = static_cast<const XT *>(a.x);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int C = a.C, c0 = (blockIdx.x * 32 + lane) * V;
  const int blocksPerSeq = (a.L + convBwdTokensPerBlock - 1) / convBwdTokensPerBlock;
  const int b = blockIdx.y / blocksPerSeq;
  const int l0 = (blockIdx.y % blocksPerSeq) * convBwdTokensPerBlock + warp * Seg;
  const int l1 = min(l0 + Seg, a.L);
  float dw[K][V], db[V];
#pragma unroll
  for (int v = 0; v < V; ++v) {
    db[v] = 0.f;
#pragma unroll
    for (int k = 0; k < K; ++k)
      dw[k][v] = 0.f;
  }
  if (c0 < C && l0 < a.L) {
    float wv[K][V], bias[V];
#pragma unroll
    for (int v = 0; v < V; ++v) {
      bias[v] = a.bias ? a.bias[c0 + v] : 0.f;
#pragma unroll
      for (int k = 0; k < K; ++k)
        wv[k][v] = a.w[(c0 + v) * K + k];
    }
    const int64_t row0 = (int64_t)b * a.L;
    // xw[j]: input of token l - S + j; gw[j]: g of token l - S + j.
    float xw[S > 0 ? S : 1][V], gw[S > 0 ? S : 1][V];
#pragma unroll
    for (int j = 0; j < S; ++j) {
      const int p = l0 - S + j;
      if (p >= 0)
        mbwd::loadV<V>(x + (row0 + p) * a.ldx + c0, xw[j]);
      else
#pragma unroll
        for (int v = 0; v < V; ++v)
          xw[j][v] = 0.f;
#pragma unroll
      for (int v = 0; v < V; ++v)
        gw[j][v] = 0.f;  // tokens before l0: their dx belongs to another warp
    }
    const int lend = min(l1 + S, a.L);  // tokens whose g is needed
    for (int lr = l0; lr < l1 + S; lr += R) {
      float xr[R][V], dr[R][V];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int l = lr + r;
        if (l < lend) {
          mbwd::loadV<V>(x + (row0 + l) * a.ldx + c0, xr[r]);
          mbwd::loadV<V>(a.dact + (row0 + l) * C + c0, dr[r]);
        } else {
#pragma unroll
          for (int v = 0; v < V; ++v)
            xr[r][v] = 0.f, dr[r][v] = 0.f;
        }
      }
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int l = lr + r;
        float g[V];
#pragma unroll
        for (int v = 0; v < V; ++v) {
          float pre = bias[v];
#pragma unroll
          for (int k = 0; k < S; ++k)
            pre += wv[k][v] * xw[k][v];
          pre += wv[S][v] * xr[r][v];
          g[v] = l < lend ? dr[r][v] * mbwd::siluPrime(pre, mbwd::sigmoidf(pre)) : 0.f;
        }
        if (l < l1) {  // this warp's token: the weight gradients
#pragma unroll
          for (int v = 0; v < V; ++v) {
            db[v] += g[v];
#pragma unroll
            for (int k = 0; k < S; ++k)
              dw[k][v] += g[v] * xw[k][v];
            dw[S][v] += g[v] * xr[r][v];
          }
        }
        const int p = l - S;  // its dx is complete now
        if (p >= l0 && p < l1) {
          float dx[V];
#pragma unroll
          for (int v = 0; v < V; ++v) {
            float s = wv[0][v] * g[v];
#pragma unroll
            for (int j = 0; j < S; ++j)
              s += wv[S - j][v] * gw[j][v];
            dx[v] = s;
          }
          mbwd::storeV<V>(a.dx + (row0 + p) * a.lddx + c0, dx);
        }
#pragma unroll
        for (int j = 0; j + 1 < S; ++j)
#pragma unroll
          for (int v = 0; v < V; ++v)
            xw[j][v] = xw[j + 1][v], gw[j][v] = gw[j + 1][v];
        if constexpr (S > 0)
#pragma unroll
          for (int v = 0; v < V; ++v)
            xw[S - 1][v] = xr[r][v], gw[S - 1][v] = g[v];
      }
    }
  }
  // The block's sums, warp by warp in order, into its partial row.
#pragma unroll
  for (int v = 0; v < V; ++v) {
#pragma unroll
    for (int k = 0; k < K; ++k)
      red[warp][v * K + k][lane] = dw[k][v];
    red[warp][V * K + v][lane] = db[v];
  }
  __syncthreads();
  float *part = a.partial + (int64_t)blockIdx.y * C * (K + 1);
  for (int o = threadIdx.x; o < NV * 32; o += convBwdThreads) {
    const int j = o / 32, ln = o % 32, cb = (blockIdx.x * 32 + ln) * V;
    float s = 0.f;
#pragma unroll
    for (int w = 0; w < NW; ++w)
      s += red[w][j][ln];
    if (j < V * K) {
      const int v = j / K, k = j % K;
      if (cb + v < C)
        part[(cb + v) * K + k] = s;
    } else if (cb + j - V * K < C) {
      part[C * K + cb + j - V * K] = s;
    }
  }
}

//===----------------------------------------------------------------------===//
// Partial rows -> weight gradients
//===----------------------------------------------------------------------===//

/// Block i sums columns [32 i, 32 i + 32): 32 / V column lanes of V columns
/// x (256 V / 32) row lanes; row lane q adds rows q, q + lanes, ... in order,
/// then thread c < 32 adds the row lanes' sums in order.
template <int V>
__device__ __forceinline__ void col_reduce_kernel(const ColReduceArgs &a) {
  static_assert(V == 1 || V == 4, "col_reduce: 1 or 4 columns a thread");
  constexpr int CL = 32 / V, RL = colReduceThreads / CL;
  __shared__ float red[RL][33];
  const int cl = threadIdx.x % CL, rl = threadIdx.x / CL;
  const int c = blockIdx.x * 32 + cl * V;
  float s[V];
#pragma unroll
  for (int v = 0; v < V; ++v)
    s[v] = 0.f;
  if (c < a.cols) {
    const float *p = a.part + c;
    int r = rl;
    for (; r + 3 * RL < a.rows; r += 4 * RL) {
      float q[4][V];
#pragma unroll
      for (int u = 0; u < 4; ++u)
        mbwd::loadV<V>(p + (int64_t)(r + u * RL) * a.cols, q[u]);
#pragma unroll
      for (int u = 0; u < 4; ++u)
#pragma unroll
        for (int v = 0; v < V; ++v)
          s[v] += q[u][v];
    }
    for (; r < a.rows; r += RL) {
      float q[V];
      mbwd::loadV<V>(p + (int64_t)r * a.cols, q);
#pragma unroll
      for (int v = 0; v < V; ++v)
        s[v] += q[v];
    }
  }
#pragma unroll
  for (int v = 0; v < V; ++v)
    red[rl][cl * V + v] = s[v];
  __syncthreads();
  const int col = blockIdx.x * 32 + threadIdx.x;
  if (threadIdx.x < 32 && col < a.cols) {
    float t = 0.f;
#pragma unroll
    for (int q = 0; q < RL; ++q)
      t += red[q][threadIdx.x];
    float *out = nullptr;
    if (col < a.split && a.out0)
      out = a.out0 + col;
    else if (col >= a.split && a.out1)
      out = a.out1 + (col - a.split);
    if (out)
      *out = a.accumulate ? *out + t : t;
  }
}

} // namespace hyb
