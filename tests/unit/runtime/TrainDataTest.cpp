//===- TrainDataTest.cpp - Token files, split, batches --------------------===//
#include "runtime/train/Data.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <unistd.h>

using namespace hybrid;

namespace {

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/traindata_" + std::to_string(::getpid()) + "_" + name;
}

std::string writeFile(const std::string &name, const std::string &bytes) {
  std::string path = tempPath(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

bool contains(const Status &st, const std::string &part) {
  return st.message().find(part) != std::string::npos;
}

TEST(TrainData, BytesConcatenateFiles) {
  std::string a = writeFile("a.txt", "hi\n"), b = writeFile("b.txt", std::string("\xff\x00z", 3));
  auto s = loadTokenStream({a, b}, DataFormat::Bytes, 256);
  ASSERT_TRUE(s.ok()) << s.status().toString();
  EXPECT_EQ(s->tokens, (std::vector<int32_t>{'h', 'i', '\n', 255, 0, 'z'}));
  // A byte outside a small vocabulary is named with its file and position.
  auto small = loadTokenStream({a, b}, DataFormat::Bytes, 128);
  ASSERT_FALSE(small.ok());
  EXPECT_TRUE(contains(small.status(), b)) << small.status().message();
  EXPECT_TRUE(contains(small.status(), "token 0 is 255")) << small.status().message();
}

TEST(TrainData, LittleEndianIds) {
  std::string u16 = writeFile("t.u16", std::string("\x01\x02\xff\x00", 4));
  auto s = loadTokenStream({u16}, DataFormat::UInt16, 1000);
  ASSERT_TRUE(s.ok()) << s.status().toString();
  EXPECT_EQ(s->tokens, (std::vector<int32_t>{0x0201, 255}));
  auto over = loadTokenStream({u16}, DataFormat::UInt16, 513);
  ASSERT_FALSE(over.ok());
  EXPECT_TRUE(contains(over.status(), "token 0 is 513")) << over.status().message();
  EXPECT_TRUE(contains(over.status(), "vocabulary of 513")) << over.status().message();

  std::string u32 = writeFile("t.u32", std::string("\x01\x00\x01\x00\x07\x00\x00\x00", 8));
  auto t = loadTokenStream({u32}, DataFormat::UInt32, 70000);
  ASSERT_TRUE(t.ok()) << t.status().toString();
  EXPECT_EQ(t->tokens, (std::vector<int32_t>{65537, 7}));
  auto odd = loadTokenStream({u32}, DataFormat::UInt16, 70000);
  EXPECT_TRUE(odd.ok()); // 8 bytes are 4 uint16
  std::string three = writeFile("t3.u16", "abc");
  auto bad = loadTokenStream({three}, DataFormat::UInt16, 70000);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.status(), "not a multiple of 2")) << bad.status().message();
}

TEST(TrainData, ClearErrors) {
  std::string empty = writeFile("empty.txt", "");
  auto e = loadTokenStream({empty}, DataFormat::Bytes, 256);
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(contains(e.status(), empty + " is empty")) << e.status().message();
  auto missing = loadTokenStream({tempPath("nope")}, DataFormat::Bytes, 256);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.status(), "cannot open")) << missing.status().message();
  auto dir = loadTokenStream({::testing::TempDir()}, DataFormat::Bytes, 256);
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(contains(dir.status(), "directory")) << dir.status().message();
  EXPECT_FALSE(loadTokenStream({}, DataFormat::Bytes, 256).ok());
  DataFormat f;
  EXPECT_TRUE(parseDataFormat("uint32", &f) && f == DataFormat::UInt32);
  EXPECT_FALSE(parseDataFormat("u32", &f));
}

std::vector<int32_t> iota(int n) {
  std::vector<int32_t> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = i;
  return v;
}

TEST(TrainData, SplitAndShortStreams) {
  auto s = BatchSampler::create(iota(100), 0.05, 4, 1);
  ASSERT_TRUE(s.ok()) << s.status().toString();
  EXPECT_EQ(s->trainTokens(), 95);
  EXPECT_EQ(s->valTokens(), 5);
  // Held-out part of 5 tokens cannot hold a window of 6.
  auto v = BatchSampler::create(iota(100), 0.05, 5, 1, "fortunes");
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(contains(v.status(), "fortunes has 100 tokens")) << v.status().message();
  EXPECT_TRUE(contains(v.status(), "held-out part (5 tokens")) << v.status().message();
  // Training part too short for one window.
  auto t = BatchSampler::create(iota(10), 0.0, 10, 1);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.status(), "shorter than one window of --seq 10 + 1 = 11"))
      << t.status().message();
  EXPECT_TRUE(BatchSampler::create(iota(11), 0.0, 10, 1).ok()); // exactly one window
  EXPECT_FALSE(BatchSampler::create({}, 0.0, 1, 1).ok());
  EXPECT_FALSE(BatchSampler::create(iota(10), 1.0, 1, 1).ok());
}

TEST(TrainData, TrainBatchesAreShiftedWindowsOfTheTrainPart) {
  auto s = BatchSampler::create(iota(1000), 0.1, 16, 42);
  ASSERT_TRUE(s.ok());
  Batch b;
  std::set<int64_t> seen;
  int64_t lo = 1 << 30, hi = -1;
  for (int64_t step = 0; step < 200; ++step) {
    s->trainBatch(step, 0, 4, &b);
    ASSERT_EQ(b.ids.size(), 64u);
    for (int r = 0; r < 4; ++r) {
      int64_t off = b.ids[r * 16];
      lo = std::min(lo, off);
      hi = std::max(hi, off);
      seen.insert(off);
      for (int t = 0; t < 16; ++t) {
        ASSERT_EQ(b.ids[r * 16 + t], off + t);
        ASSERT_EQ(b.labels[r * 16 + t], off + t + 1);
      }
      ASSERT_LE(off + 16, 899); // the last label stays in [0, 900)
    }
  }
  EXPECT_LT(lo, 10);  // offsets cover the whole range [0, 883]
  EXPECT_GT(hi, 870);
  EXPECT_GT(seen.size(), 500u);
}

TEST(TrainData, BatchesDependOnlyOnSeedStepMicro) {
  auto s = BatchSampler::create(iota(5000), 0.05, 8, 7);
  auto same = BatchSampler::create(iota(5000), 0.05, 8, 7);
  auto other = BatchSampler::create(iota(5000), 0.05, 8, 8);
  Batch a, b;
  // Order of calls does not matter: step 9 first, then step 3.
  same->trainBatch(9, 1, 4, &b);
  s->trainBatch(9, 1, 4, &a);
  EXPECT_EQ(a.ids, b.ids);
  s->trainBatch(3, 0, 4, &a);
  same->trainBatch(3, 0, 4, &b);
  EXPECT_EQ(a.ids, b.ids);
  same->trainBatch(3, 1, 4, &b);
  EXPECT_NE(a.ids, b.ids); // another micro-batch
  same->trainBatch(4, 0, 4, &b);
  EXPECT_NE(a.ids, b.ids); // another step
  other->trainBatch(3, 0, 4, &b);
  EXPECT_NE(a.ids, b.ids); // another seed
}

TEST(TrainData, ValidationWindowsAreFixedAndHeldOut) {
  auto s = BatchSampler::create(iota(1000), 0.2, 9, 3); // val = [800, 1000)
  ASSERT_TRUE(s.ok());
  int64_t count = s->valBatchCount(4, 100);
  EXPECT_EQ(count, 5); // 200 / 10 = 20 disjoint windows = 5 batches of 4
  EXPECT_EQ(s->valBatchCount(4, 2), 2);
  Batch a, b;
  int64_t first = -1, last = -1;
  for (int64_t i = 0; i < count; ++i) {
    s->valBatch(i, count, 4, &a);
    s->valBatch(i, count, 4, &b);
    EXPECT_EQ(a.ids, b.ids);
    for (int r = 0; r < 4; ++r) {
      int64_t off = a.ids[r * 9];
      if (first < 0)
        first = off;
      last = off;
      EXPECT_GE(off, 800);
      EXPECT_LE(off + 9, 999);
      EXPECT_EQ(a.labels[r * 9 + 8], off + 9);
    }
  }
  EXPECT_EQ(first, 800); // spread from the start ...
  EXPECT_EQ(last, 990);  // ... to the last window
  auto none = BatchSampler::create(iota(100), 0.0, 8, 3);
  EXPECT_EQ(none->valBatchCount(4, 4), 0);
}

} // namespace
