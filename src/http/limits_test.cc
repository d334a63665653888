#include "http/limits.h"

#include <gtest/gtest.h>

namespace strata::http {
namespace {

using Clock = MinRate::Clock;
using std::chrono::seconds;

TEST(MinRate, OffUntilStarted) {
  MinRate r;
  EXPECT_FALSE(r.Expired(Clock::now() + seconds(1000)));
}

TEST(MinRate, TrickledBytesDoNotMoveTheDeadline) {
  // One byte every 20 s (the attack) against 1 KiB/s over 30 s:
  // each byte would have reset a per-read timer; the window still ends.
  Clock::time_point t0{};
  MinRate r;
  r.Start(t0, 30 * 1024, seconds(30));
  r.Add(1);
  EXPECT_FALSE(r.Expired(t0 + seconds(20)));
  r.Add(1);
  EXPECT_FALSE(r.Expired(t0 + seconds(29)));
  EXPECT_TRUE(r.Expired(t0 + seconds(30)));
}

TEST(MinRate, EachWindowMustBringItsShare) {
  Clock::time_point t0{};
  MinRate r;
  r.Start(t0, 1000, seconds(10));
  r.Add(5000);  // a fast start earns no credit for later windows
  EXPECT_FALSE(r.Expired(t0 + seconds(10)));
  r.Add(999);
  EXPECT_FALSE(r.Expired(t0 + seconds(19)));
  EXPECT_TRUE(r.Expired(t0 + seconds(20)));
}

TEST(MinRate, SteadyClientNeverExpires) {
  Clock::time_point t0{};
  MinRate r;
  r.Start(t0, 1000, seconds(10));
  for (int s = 1; s <= 100; ++s) {
    r.Add(100);  // exactly the minimum rate
    EXPECT_FALSE(r.Expired(t0 + seconds(s))) << s;
  }
}

TEST(MinRate, PausedTimeIsNotTheClients) {
  Clock::time_point t0{};
  MinRate r;
  r.Start(t0, 1000, seconds(10));
  r.Pause();  // the server stopped reading (back-pressure)
  EXPECT_FALSE(r.Expired(t0 + seconds(100)));
  r.Resume(t0 + seconds(100));
  EXPECT_FALSE(r.Expired(t0 + seconds(109)));
  EXPECT_TRUE(r.Expired(t0 + seconds(110)));
}

TEST(MinRate, StopTurnsItOff) {
  Clock::time_point t0{};
  MinRate r;
  r.Start(t0, 1000, seconds(1));
  r.Stop();
  EXPECT_FALSE(r.Expired(t0 + seconds(5)));
}

TEST(MemoryBudget, RefusesPastTheLimitAndTakesBackWhatIsGiven) {
  MemoryBudget b(100);
  EXPECT_TRUE(b.TryTake(60));
  EXPECT_FALSE(b.TryTake(41));
  EXPECT_TRUE(b.TryTake(40));
  EXPECT_EQ(b.used(), 100u);
  b.Give(60);
  EXPECT_TRUE(b.TryTake(50));
  EXPECT_EQ(b.used(), 90u);
}

TEST(MemoryBudget, OneRequestLargerThanTheLimitStillRunsAlone) {
  MemoryBudget b(100);
  EXPECT_TRUE(b.TryTake(1000));
  EXPECT_FALSE(b.TryTake(1));
  b.Give(1000);
  EXPECT_EQ(b.used(), 0u);
}

TEST(BodyBuffers, GrowOnlyAsBuffersFill) {
  MemoryBudget b(64 << 20);
  {
    BodyBuffers bufs(&b, 1 << 20);
    ASSERT_TRUE(bufs.Init(1));  // a body that declared 64 MiB has sent 1 byte
    EXPECT_EQ(bufs.size(0), BodyBuffers::kMinSize);
    EXPECT_EQ(b.used(), BodyBuffers::kMinSize);
    int cur = bufs.Next(0, /*filled=*/true);
    EXPECT_EQ(cur, 1);
    EXPECT_EQ(bufs.size(1), 2 * BodyBuffers::kMinSize);
    for (int i = 0; i < 20; ++i) cur = bufs.Next(cur, true);
    EXPECT_EQ(bufs.size(0), size_t{1} << 20);  // capped
    EXPECT_EQ(bufs.size(1), size_t{1} << 20);
    EXPECT_EQ(b.used(), size_t{2} << 20);
  }
  EXPECT_EQ(b.used(), 0u);
}

TEST(BodyBuffers, PartialFillsDoNotGrow) {
  MemoryBudget b(64 << 20);
  BodyBuffers bufs(&b, 1 << 20);
  ASSERT_TRUE(bufs.Init(1));
  int cur = 0;
  for (int i = 0; i < 10; ++i) cur = bufs.Next(cur, /*filled=*/false);
  EXPECT_EQ(bufs.size(0) + bufs.size(1), 2 * BodyBuffers::kMinSize);
}

TEST(BodyBuffers, UnderAFullBudgetMakeDoWithOneBuffer) {
  MemoryBudget b(BodyBuffers::kMinSize * 3);
  BodyBuffers other(&b, 1 << 20);
  ASSERT_TRUE(other.Init(2 * BodyBuffers::kMinSize));
  BodyBuffers bufs(&b, 1 << 20);
  ASSERT_TRUE(bufs.Init(1 << 20));  // only kMinSize is left
  EXPECT_EQ(bufs.size(0), BodyBuffers::kMinSize);
  EXPECT_EQ(bufs.Next(0, true), 0);  // no room for a second buffer, nor growth
  EXPECT_EQ(bufs.size(0), BodyBuffers::kMinSize);
  BodyBuffers third(&b, 1 << 20);
  EXPECT_FALSE(third.Init(1));  // must wait
  EXPECT_EQ(b.used(), b.limit());
}

TEST(BurstEnd, SaysSoOncePerBurst) {
  BurstEnd e(100);
  EXPECT_FALSE(e.Sample(50));  // below the floor: no burst
  EXPECT_FALSE(e.Sample(10));
  EXPECT_FALSE(e.Sample(400));  // a burst
  EXPECT_FALSE(e.Sample(200));
  EXPECT_TRUE(e.Sample(90));  // fell to a quarter of its peak
  EXPECT_FALSE(e.Sample(80));
  EXPECT_FALSE(e.Sample(0));
}

}  // namespace
}  // namespace strata::http
