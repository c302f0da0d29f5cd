#include "core/rng.hpp"

#include <gtest/gtest.h>

#include <set>

namespace posthorn {
namespace {

TEST(Rng, SeededRngIsReproducible) {
  SeededRng a(42), b(42), c(43);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
}

TEST(Rng, UniformStaysInBoundsAndCoversRange) {
  SeededRng rng(1);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    auto v = rng.uniform(10);
    ASSERT_LT(v, 10u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 10u);
}

TEST(Rng, StringUsesOnlyTheAlphabet) {
  CryptoRng rng;
  auto s = rng.string(64, "ab");
  EXPECT_EQ(s.size(), 64u);
  EXPECT_EQ(s.find_first_not_of("ab"), std::string::npos);
}

TEST(Rng, NextDoubleIsInUnitInterval) {
  SeededRng rng(7);
  for (int i = 0; i < 1000; ++i) {
    double d = rng.next_double();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
  }
}

} // namespace
} // namespace posthorn
