//===- rope.cuh - RoPE ("rotate_half") and the KV-cache store -------------===//
//
// Up to three jobs per launch (q -> scratch, k and v -> cache): block
// (token, job). Position of token l: *pos + l when the job stores into the
// cache or posFromDevice, else l. The angle is the fp32 product pos *
// inv_freq[i] (as transformers and the CPU oracle), then sincosf. Each
// thread owns a pair (i, i + rd/2), so in == out is safe.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

template <int Dh>
__device__ __forceinline__ void rope_kernel(const RopeArgs &a) {
  static_assert(Dh % 2 == 0 && Dh <= 512, "rope: head dim must be even and <= 512");
  const RopeJob &j = a.job[blockIdx.y];
  if (!j.in)
    return;
  const int64_t t = blockIdx.x, b = t / a.L, l = t % a.L;
  const int base = a.posFromDevice ? *a.pos : 0;
  const int posv = base + (int)l;
  const int64_t orow = (b * j.outLen + (j.toCache ? base : 0) + l) * j.H;
  const int half = j.rotate ? a.rd / 2 : 0;
  const int pass = Dh - 2 * half;  // channels copied as they are
  const int per = half + pass;
  for (int idx = threadIdx.x; idx < j.H * per; idx += blockDim.x) {
    const int h = idx / per, r = idx % per;
    const bf16_t *src = j.in + t * j.ldIn + (int64_t)h * Dh;
    bf16_t *dst = j.out + (orow + h) * Dh;
    if (r < half) {
      float s, c;
      sincosf(static_cast<float>(posv) * a.invFreq[r], &s, &c);
      float x0 = ld(src, r), x1 = ld(src, r + half);
      st(dst, r, x0 * c - x1 * s);
      st(dst, r + half, x1 * c + x0 * s);
    } else {
      int ch = 2 * half + (r - half);
      st(dst, ch, ld(src, ch));
    }
  }
}

} // namespace hyb
