//===- KernelPlanTest.cpp - kernel choices of the CUDA plan ---------------===//
//
// The supports() rules beside the prefill launchers (which shapes take the
// tensor-core kernels, which fall back) and the launch parameters the host
// and the emitted wrappers must agree on.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelPlan.h"
#include "codegen/kernels/AttnBwdArgs.h"
#include "codegen/kernels/KernelArgs.h"

#include <gtest/gtest.h>

using namespace hybrid::codegen;

TEST(KernelPlan, ChunkedScanSupportsMultiplesOf16) {
  EXPECT_TRUE(kn::ssdChunkSupports(128, 64));
  EXPECT_TRUE(kn::ssdChunkSupports(16, 32));
  EXPECT_TRUE(kn::ssdChunkSupports(256, 16));
  EXPECT_FALSE(kn::ssdChunkSupports(12, 64));   // state not a multiple of 16
  EXPECT_FALSE(kn::ssdChunkSupports(272, 64));  // state over 256
  EXPECT_FALSE(kn::ssdChunkSupports(128, 24));  // head dim not a multiple of 16
}

TEST(KernelPlan, ChunkedScanSlices) {
  EXPECT_EQ(kn::ssdChunkSliceWide(64), 64);
  EXPECT_EQ(kn::ssdChunkSliceWide(128), 64);
  EXPECT_EQ(kn::ssdChunkSliceWide(96), 32);
  EXPECT_EQ(kn::ssdChunkSliceWide(48), 16);
  KernelInst k = kn::ssdChunk(128, 64, true, false);
  EXPECT_EQ(k.name, "hyb_ssd_chunk_n128_p64_f32");
  EXPECT_EQ(k.body, "hyb::ssd_chunk_kernel<128, 64, float, float, hyb::bf16_t>");
  EXPECT_EQ(k.threads, ::hyb::ssdChunkThreads);
  EXPECT_EQ(k.minBlocks, 2);  // registers capped so that two blocks share an SM
}

// Two blocks per SM for the shapes we run (state 128), and the largest
// supported configuration still fits one block in the 227 KB of an H100.
TEST(KernelPlan, ChunkedScanSharedMemory) {
  EXPECT_LE(2 * (::hyb::ssdChunkSmemBytes(128, 64) + 1024), 228 * 1024);
  EXPECT_LE(::hyb::ssdChunkSmemBytes(256, 64), 227 * 1024);
  EXPECT_LT(::hyb::ssdChunkSmemBytes(16, 16), ::hyb::ssdChunkSmemBytes(128, 16));
}

TEST(KernelPlan, PrefillAttentionOnTensorCoresForHeadDimsOf16) {
  for (int64_t dh : {16, 32, 64, 80, 96, 128}) {
    KernelInst k = kn::attnPrefill(dh);
    EXPECT_EQ(k.name, "hyb_attn_prefill_mma_" + std::to_string(dh));
    EXPECT_EQ(k.threads, 128);
  }
  for (int64_t dh : {8, 40, 144, 256}) {
    KernelInst k = kn::attnPrefill(dh);
    EXPECT_EQ(k.name, "hyb_attn_prefill_" + std::to_string(dh));
    EXPECT_EQ(k.threads, 64);
  }
}

// Only the decode GEMV prefetches weights before its own griddepcontrol.wait;
// every other wrapper waits before the body (the emitter relies on this).
TEST(KernelPlan, ProgrammaticLaunchWaits) {
  EXPECT_TRUE(kn::gemv(false, false, true).ownsPdlWait);
  EXPECT_TRUE(kn::gemv(true, true, false).ownsPdlWait);
  EXPECT_FALSE(kn::ssdChunk(128, 64, true, true).ownsPdlWait);
  EXPECT_FALSE(kn::attnPrefill(64).ownsPdlWait);
  EXPECT_FALSE(kn::convPrefill(4, true, true).ownsPdlWait);
}

TEST(KernelPlan, PrefillConvNames) {
  KernelInst k = kn::convPrefill(4, true, false);
  EXPECT_EQ(k.name, "hyb_conv_k4_prefill_f32");
  EXPECT_EQ(k.body, "hyb::conv_prefill_kernel<4, float, hyb::bf16_t>");
  EXPECT_EQ(kn::convPrefill(4, false, true).name, "hyb_conv_k4_prefill_bf_inf32");
}

// Training (train_step): which scan backward a shape gets, and shared memory
// that fits the cards we launch on (H100: 227 KB a block; A100: 163 KB, the
// one-buffer chunk pass).
TEST(KernelPlan, ScanBackwardPicksTheFastKernelForMultiplesOf32) {
  EXPECT_TRUE(kn::ssdChunkBwdFast(128, 64));
  EXPECT_TRUE(kn::ssdChunkBwdFast(32, 32));
  EXPECT_FALSE(kn::ssdChunkBwdFast(16, 32));  // the tiny models: the simple kernel
  EXPECT_FALSE(kn::ssdChunkBwdFast(128, 48));
  auto ks = kn::ssdChunkBwd(128, 64);
  ASSERT_EQ(ks.size(), 4u);
  EXPECT_EQ(ks[0].body, "hyb::ssd_chunk_bwd_state_kernel<128, 64, 32>");
  EXPECT_EQ(ks[1].body, "hyb::ssd_chunk_bwd_chunk_kernel<128, 64, 2>");
  EXPECT_EQ(ks[2].body, "hyb::ssd_chunk_bwd_chunk_kernel<128, 64, 1>");
  EXPECT_EQ(kn::ssdChunkBwdSimple(16, 32).name, "hyb_ssd_bwd_simple_n16_p32");
  EXPECT_LE(::hyb::ssdChunkBwdSmemBytes(1, 128, 64, 2), 227 * 1024);
  EXPECT_LE(::hyb::ssdChunkBwdSmemBytes(1, 128, 64, 1), 163 * 1024);
  EXPECT_LE(::hyb::ssdChunkBwdSmemBytes(0, 128, 32), 48 * 1024);
}

// The fused LM head + cross entropy keeps a row of logits in registers (at
// most 64 values a thread) and falls back to two passes beyond that.
TEST(KernelPlan, CrossEntropyRowsInRegisters) {
  EXPECT_EQ(kn::ceRows(32000).body, "hyb::ce_rows_kernel<32000, 1024, 4>");
  EXPECT_EQ(kn::ceRows(256).body, "hyb::ce_rows_kernel<256, 32, 4>");
  EXPECT_EQ(kn::ceRows(50257).body, "hyb::ce_rows_kernel<50257, 1024, 1>");
  EXPECT_EQ(kn::ceRows(300000).name, "hyb_ce_rows_any");
}

// The attention backward runs on tensor cores exactly where the forward
// does (it needs that kernel's log-sum-exp).
TEST(KernelPlan, AttentionBackwardMatchesTheForward) {
  auto ks = kn::attnBwd(64);
  ASSERT_EQ(ks.size(), 4u);
  EXPECT_EQ(ks[2].name, "hyb_attn_bwd_dkdv_mma_64");
  EXPECT_EQ(ks[3].name, "hyb_attn_bwd_dq_mma_64");
  EXPECT_EQ(ks[2].threads, ::hyb::attnBwdDkdvThreads(64));
  EXPECT_EQ(kn::attnBwd(40)[2].name, "hyb_attn_bwd_dkdv_40");
  // The gated-norm backward keeps at most 16 values a thread.
  for (int64_t d : {64, 256, 2048, 4096, 12288})
    EXPECT_LE((d + kn::gatedNormBwdThreads(d) - 1) / kn::gatedNormBwdThreads(d), 16) << d;
}
