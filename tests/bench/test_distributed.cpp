// Shards and job claiming: every job owned by exactly one shard; a claim is won once.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "bench/distributed/shard.hpp"
#include "core/error.hpp"
#include "sdm_test_support.hpp"

using sdm::bench::distributed::JobBoard;
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

TEST(JobBoard, ConcurrentProcessesClaimEachJobOnce) {
  sdm::test::TempDir dir;
  constexpr int kJobs = 40, kProcs = 4;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcs; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      JobBoard board(dir.path(), "a1");
      std::vector<int> pending(kJobs);
      for (int i = 0; i < kJobs; ++i) pending[i] = i;
      while (auto j = board.claim_next(pending)) sdm::test::write_text(dir / ("won-" + std::to_string(*j) + "-" + std::to_string(p)), "");
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t c : children) ::waitpid(c, nullptr, 0);
  std::multiset<int> won;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("won-", 0) == 0) won.insert(std::stoi(name.substr(4)));
  }
  EXPECT_EQ(won.size(), std::size_t(kJobs));
  for (int j = 0; j < kJobs; ++j) EXPECT_EQ(won.count(j), 1u) << "job " << j;
}

TEST(JobBoard, ANewAttemptCanReclaimJobsOfADeadOne) {
  sdm::test::TempDir dir;
  JobBoard first(dir.path(), "attempt1");
  EXPECT_TRUE(first.try_claim(3));
  EXPECT_FALSE(first.try_claim(3));
  JobBoard second(dir.path(), "attempt2");
  EXPECT_TRUE(second.try_claim(3));
}
