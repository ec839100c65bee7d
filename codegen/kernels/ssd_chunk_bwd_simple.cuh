//===- ssd_chunk_bwd_simple.cuh - Scan gradients, any state / head size ---===//
//
// The backward of the SSD scan in chunked form, for training on the device
// (issue 5): the formulas of tests/gpu/kernels/SsdChunkedReference.h (which
// equals the CPU recurrence, tests/unit/runtime/SsdChunkedReferenceTest.cpp).
// One block per (batch row, head) walks the chunks of ssdChunkLen tokens in
// reverse with the state gradient dh [P, N] in shared memory; the states
// entering each chunk come from the forward (ScanGradArgs::chunkStates).
// The fallback of ssd_chunk_bwd.cuh for shapes it does not take (state or
// head dim not multiples of 32, e.g. the tiny test models): CUDA-core fp32
// products inside a chunk (18 ms at B8 L2048 H32 P64 N128, 40x the fast
// kernel); dB, dC, dA_log and dD are accumulated with atomicAdd into zeroed
// buffers. Dynamic shared memory: ssdChunkBwdSimpleSmemBytes(N, P).
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

template <int N, int P>
__device__ __forceinline__ void ssd_chunk_bwd_simple_kernel(const ScanGradArgs &a) {
  constexpr int Q = ssdChunkLen, T = ssdChunkThreads;
  static_assert(Q == 32, "ssd_chunk_bwd_simple: the cumulative sums are one warp wide");
  extern __shared__ __align__(16) float sm[];
  float *Cs = sm, *Bs = Cs + Q * N, *Hs = Bs + Q * N, *dH = Hs + P * N;  // [Q,N] [Q,N] [P,N] [P,N]
  float *Xs = dH + P * N, *dYs = Xs + Q * P, *DB = dYs + Q * P, *Ch = DB + Q * P;  // [Q,P] x4
  float *S = Ch + Q * P, *W = S + Q * Q, *Lm = W + Q * Q;                          // [Q,Q] x3
  float *cum = Lm + Q * Q, *dts = cum + Q, *E = dts + Q, *K = E + Q, *dcum = K + Q;
  float *ddtD = dcum + Q, *red = ddtD + Q;  // red: blockSum's 33 floats

  const int h = blockIdx.x, b = blockIdx.y, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = h / (a.H / a.G), HP = a.H * P;
  const float A = -expf(a.aLog[h]);
  const float Dh = a.d ? a.d[h] : 0.f;
  const int nChunks = (a.L + Q - 1) / Q;
  float dA = 0.f, dD = 0.f;  // this thread's share

  for (int i = tid; i < P * N; i += T)
    dH[i] = 0.f;
  for (int c = nChunks - 1; c >= 0; --c) {
    const int c0 = c * Q, q = min(Q, a.L - c0);
    const int64_t t0 = (int64_t)b * a.L + c0;
    // Inputs of the chunk (rows past q are zero), the entering state.
    for (int e = tid; e < Q * N; e += T) {
      const int i = e / N, n = e % N;
      const bool in = i < q;
      Cs[e] = in ? a.cm[(t0 + i) * a.ldbc + g * N + n] : 0.f;
      Bs[e] = in ? a.bm[(t0 + i) * a.ldbc + g * N + n] : 0.f;
    }
    for (int e = tid; e < Q * P; e += T) {
      const int i = e / P, p = e % P;
      const bool in = i < q;
      Xs[e] = in ? a.x[(t0 + i) * a.ldx + h * P + p] : 0.f;
      dYs[e] = in ? a.dy[(t0 + i) * HP + h * P + p] : 0.f;
    }
    const float *hin = a.chunkStates + (((int64_t)b * a.H + h) * nChunks + c) * P * N;
    for (int e = tid; e < P * N; e += T)
      Hs[e] = hin[e];
    if (warp == 0) {
      const float dt = lane < q ? a.dt[(t0 + lane) * a.lddt + h] : 0.f;
      const float s = warpPrefixSum(dt * A, lane);
      cum[lane] = s;
      dts[lane] = dt;
      E[lane] = __expf(__shfl_sync(0xffffffffu, s, 31) - s);
    }
    __syncthreads();
    const float last = cum[Q - 1];  // rows past q add dt = 0: the last valid cum
    // S = C B^T, W = dY X^T, L (lower triangle); DB = dH B^T rows, Ch = C H^T rows.
    for (int e = tid; e < Q * Q; e += T) {
      const int i = e / Q, j = e % Q;
      float s = 0.f, w = 0.f;
      if (j <= i) {
        for (int n = 0; n < N; ++n)
          s += Cs[i * N + n] * Bs[j * N + n];
        for (int p = 0; p < P; ++p)
          w += dYs[i * P + p] * Xs[j * P + p];
      }
      S[e] = s, W[e] = w, Lm[e] = j <= i ? __expf(cum[i] - cum[j]) : 0.f;
    }
    for (int e = tid; e < Q * P; e += T) {
      const int j = e / P, p = e % P;
      float db = 0.f, ch = 0.f;
      for (int n = 0; n < N; ++n) {
        db += dH[p * N + n] * Bs[j * N + n];
        ch += Cs[j * N + n] * Hs[p * N + n];
      }
      DB[e] = db, Ch[e] = ch;
    }
    __syncthreads();
    if (warp == 0) {  // K_j = x_j . DB_j
      for (int j = 0; j < Q; ++j) {
        float k = 0.f;
        for (int p = lane; p < P; p += 32)
          k += Xs[j * P + p] * DB[j * P + p];
        k = warpSum(k);
        if (lane == 0)
          K[j] = k;
      }
    }
    __syncthreads();
    // dx (exclusive to this head).
    for (int e = tid; e < Q * P; e += T) {
      const int j = e / P, p = e % P;
      if (j >= q)
        continue;
      float v = Dh * dYs[e] + E[j] * dts[j] * DB[e];
      for (int i = j; i < q; ++i)
        v += Lm[i * Q + j] * dts[j] * S[i * Q + j] * dYs[i * P + p];
      a.dx[(t0 + j) * HP + h * P + p] = v;
      dD += dYs[e] * Xs[e];
    }
    // dB, dC (shared by the heads of the group: atomics).
    for (int e = tid; e < Q * N; e += T) {
      const int i = e / N, n = e % N;
      if (i >= q)
        continue;
      float xdh = 0.f, dyh = 0.f;
      for (int p = 0; p < P; ++p) {
        xdh += Xs[i * P + p] * dH[p * N + n];
        dyh += dYs[i * P + p] * Hs[p * N + n];
      }
      float vb = E[i] * dts[i] * xdh, vc = __expf(cum[i]) * dyh;
      for (int ip = i; ip < q; ++ip)
        vb += Lm[ip * Q + i] * dts[i] * W[ip * Q + i] * Cs[ip * N + n];
      for (int j = 0; j <= i; ++j)
        vc += Lm[i * Q + j] * dts[j] * W[i * Q + j] * Bs[j * N + n];
      atomicAdd(a.dbm + (t0 + i) * a.ldbc + g * N + n, vb);
      atomicAdd(a.dcm + (t0 + i) * a.ldbc + g * N + n, vc);
    }
    // ddt (as the multiplier) and dcum, one position per lane of warp 0.
    if (warp == 0) {
      const int i = lane;
      float direct = 0.f, dc = 0.f;
      if (i < q) {
        direct = E[i] * K[i];
        for (int ip = i; ip < q; ++ip) {
          const float t = Lm[ip * Q + i] * S[ip * Q + i] * W[ip * Q + i];
          direct += t;
          dc -= t * dts[i];
        }
        float dyCh = 0.f;
        for (int p = 0; p < P; ++p)
          dyCh += dYs[i * P + p] * Ch[i * P + p];
        dc += __expf(cum[i]) * dyCh;
        for (int j = 0; j <= i; ++j)
          dc += Lm[i * Q + j] * dts[j] * S[i * Q + j] * W[i * Q + j];
        dc -= E[i] * dts[i] * K[i];
      }
      // The last valid position also collects sum_j E_j dt_j K_j.
      const float toLast = warpSum(i < q ? E[i] * dts[i] * K[i] : 0.f);
      dcum[i] = dc + (i == q - 1 ? toLast : 0.f);
      ddtD[i] = direct;
    }
    __syncthreads();
    // e^last <H, dH> (block-wide), added to dcum at the last valid position.
    float hd = 0.f;
    for (int e = tid; e < P * N; e += T)
      hd += Hs[e] * dH[e];
    hd = blockSum(hd, red);
    if (warp == 0) {
      // da_k = sum_{i >= k} dcum_i.
      const float dc =
          warpSuffixSum(dcum[lane] + (lane == q - 1 ? __expf(last) * hd : 0.f), lane);
      if (lane < q) {
        a.ddt[(t0 + lane) * a.lddt + h] = ddtD[lane] + A * dc;
        dA += dts[lane] * dc;
      }
    }
    __syncthreads();
    // dH <- e^last dH + sum_i e^cum_i dY_i^T C_i (for the chunk before).
    for (int e = tid; e < P * N; e += T) {
      const int p = e / N, n = e % N;
      float v = __expf(last) * dH[e];
      for (int i = 0; i < q; ++i)
        v += __expf(cum[i]) * dYs[i * P + p] * Cs[i * N + n];
      dH[e] = v;
    }
    __syncthreads();
  }
  dA = blockSum(dA, red);
  dD = blockSum(dD, red);
  if (tid == 0) {  // summed over the batch rows (zeroed by the caller)
    atomicAdd(a.daLog + h, dA * A);
    if (a.dd)
      atomicAdd(a.dd + h, dD);
  }
}

} // namespace hyb
