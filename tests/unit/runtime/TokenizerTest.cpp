//===- TokenizerTest.cpp - byte tokenizer and --prompt-ids parsing --------===//
#include "runtime/support/Tokenizer.h"

#include <gtest/gtest.h>

using namespace hybrid;

TEST(ByteTokenizer, EncodeIsByteValues) {
  EXPECT_EQ(ByteTokenizer::encode("Hi!"), (std::vector<int32_t>{72, 105, 33}));
  EXPECT_TRUE(ByteTokenizer::encode("").empty());
  // Non-ASCII: UTF-8 bytes, unsigned (no negative ids from signed char).
  EXPECT_EQ(ByteTokenizer::encode("\xC3\xA9"), (std::vector<int32_t>{195, 169}));
  EXPECT_EQ(ByteTokenizer::encode(std::string("a\0b", 3)), (std::vector<int32_t>{97, 0, 98}));
}

TEST(ByteTokenizer, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  auto ids = ByteTokenizer::encode(all);
  ASSERT_EQ(ids.size(), 256u);
  for (int i = 0; i < 256; ++i)
    EXPECT_EQ(ids[i], i);
  auto back = ByteTokenizer::decode(ids);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

TEST(ByteTokenizer, DecodeRejectsOutOfRange) {
  auto r = ByteTokenizer::decode({72, 256, 105});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("token id 256 at position 1"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(ByteTokenizer::decode({-1}).ok());
  EXPECT_EQ(ByteTokenizer::decodeForDisplay({72, 256, 105, -3}), "H<|256|>i<|-3|>");
}

TEST(ParseIdList, Valid) {
  auto r = parseIdList("1,2,3");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(*r, (std::vector<int32_t>{1, 2, 3}));
  r = parseIdList(" 0 , 255,7 ");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(*r, (std::vector<int32_t>{0, 255, 7}));
  r = parseIdList("42");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<int32_t>{42}));
  r = parseIdList("128000,5", 128256);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<int32_t>{128000, 5}));
}

TEST(ParseIdList, Errors) {
  struct Case {
    const char *text;
    const char *message;
  } cases[] = {
      {"", "empty token id list"},
      {"  ", "empty token id list"},
      {"1,,2", "empty item 2"},
      {"1,2,", "empty item 3"},
      {",1", "empty item 1"},
      {"1,a", "item 2 'a'"},
      {"1;2", "item 1 '1;2'"},
      {"1 2", "item 1 '1 2'"},
      {"-1", "item 1 '-1'"},
      {"+1", "item 1 '+1'"},
      {"0x10", "item 1 '0x10'"},
      {"1.5", "item 1 '1.5'"},
      {"256", "token id 256 (item 1) is outside the vocabulary [0, 256)"},
      {"3,99999999999999999999999", "outside the vocabulary"},
  };
  for (const Case &c : cases) {
    auto r = parseIdList(c.text);
    ASSERT_FALSE(r.ok()) << "accepted '" << c.text << "'";
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << "'" << c.text << "': " << r.status().message();
  }
  EXPECT_FALSE(parseIdList("10", 10).ok());
  EXPECT_TRUE(parseIdList("9", 10).ok());
  EXPECT_FALSE(parseIdList("3000000000", 4000000000LL).ok()); // beyond int32
  EXPECT_FALSE(parseIdList("1", 0).ok());
}
