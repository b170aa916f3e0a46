// Shards: every job owned by exactly one shard; malformed K/N refused with the allowed form.
#include <gtest/gtest.h>

#include "bench/distributed/shard.hpp"
#include "core/error.hpp"
#include "sdm_test_support.hpp"

using sdm::bench::distributed::Shard;

TEST(Shard, ParsesOneBasedKOverN) {
  const Shard s = Shard::parse("2/4");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 4);
  EXPECT_TRUE(s.owns(1));
  EXPECT_TRUE(s.owns(5));
  EXPECT_FALSE(s.owns(0));
}

TEST(Shard, EveryJobBelongsToExactlyOneShard) {
  for (int n = 1; n <= 5; ++n)
    for (int job = 0; job < 23; ++job) {
      int owners = 0;
      for (int k = 1; k <= n; ++k) owners += Shard{k, n}.owns(job);
      EXPECT_EQ(owners, 1) << "job " << job << " of " << n << " shards";
    }
}

TEST(Shard, RejectsMalformedTextWithTheAllowedForm) {
  for (const char* bad : {"3", "0/4", "5/4", "a/b", "1/0", "2/4x", "-1/3"}) {
    try {
      Shard::parse(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const sdm::Error& e) {
      EXPECT_NE(std::string(e.what()).find("1 <= K <= N"), std::string::npos) << e.what();
    }
  }
}
