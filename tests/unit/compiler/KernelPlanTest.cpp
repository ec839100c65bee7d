//===- KernelPlanTest.cpp - kernel choices of the CUDA plan ---------------===//
//
// The supports() rules beside the prefill launchers (which shapes take the
// tensor-core kernels, which fall back) and the launch parameters the host
// and the emitted wrappers must agree on.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelPlan.h"
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
