// Coordination between gateways on one root. Two Coordination objects of one
// process open their own file descriptions, so to the kernel they are two
// gateways: what one holds, the other must see and wait for.
#include "ns/coordination.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "fs/testing/temp_dir.h"

namespace strata::ns {
namespace {

using Space = Coordination::Space;

std::unique_ptr<Coordination> Join(const std::string& root, bool single = false) {
  auto co = Coordination::Open(PosixFs(), root, single);
  EXPECT_TRUE(co.ok()) << co.status().message();
  return co.ok() ? std::move(*co) : nullptr;
}

// The id of a gateway that joined root in a child process and died there
// without a clean stop, as SIGKILL leaves one.
std::string DeadGatewayOn(const std::string& root) {
  int fds[2];
  if (::pipe(fds) != 0) return "";
  pid_t pid = ::fork();
  if (pid == 0) {
    auto co = Coordination::Open(PosixFs(), root, false);
    std::string id = co.ok() ? (*co)->id() : "";
    if (::write(fds[1], id.data(), id.size()) < 0) ::_exit(1);
    ::_exit(0);  // no destructors: its descriptors close as the kernel closes them
  }
  ::close(fds[1]);
  char buf[256];
  ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

TEST(CoordinationTest, FirstGatewayRecoversAndLaterOnesShare) {
  TempDir dir;
  auto a = Join(dir.path());
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->first());
  // b waits in Open() until a is serving.
  std::atomic<bool> joined{false};
  std::unique_ptr<Coordination> b;
  std::thread t([&] {
    b = Join(dir.path());
    joined = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(joined.load());
  a->Serving();
  t.join();
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->first());
  EXPECT_NE(a->id(), b->id());
}

TEST(CoordinationTest, ALockHeldByOneGatewayExcludesTheOther) {
  TempDir dir;
  auto a = Join(dir.path());
  a->Serving();
  auto b = Join(dir.path());
  auto held = a->Lock(Space::kBlob, std::string("c\0blob", 6));
  ASSERT_TRUE(held.owns());
  EXPECT_TRUE(b->HeldElsewhere(Space::kBlob, std::string("c\0blob", 6)));
  EXPECT_FALSE(b->TryLock(Space::kBlob, std::string("c\0blob", 6)).owns());
  // Another name, and the same name in another space, are free.
  EXPECT_TRUE(b->TryLock(Space::kBlob, std::string("c\0other", 7)).owns());
  EXPECT_TRUE(b->TryLock(Space::kContainer, std::string("c\0blob", 6)).owns());
  // b waits for the lock and gets it once a lets go.
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto g = b->Lock(Space::kBlob, std::string("c\0blob", 6));
    got = g.owns();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(got.load());
  held.unlock();
  t.join();
  EXPECT_TRUE(got.load());
  EXPECT_FALSE(b->HeldElsewhere(Space::kBlob, std::string("c\0blob", 6)));
}

TEST(CoordinationTest, ThreadsOfOneGatewayExcludeEachOther) {
  TempDir dir;
  auto a = Join(dir.path());
  auto g = a->Lock(Space::kBlob, "x");
  EXPECT_FALSE(a->TryLock(Space::kBlob, "x").owns());
  EXPECT_FALSE(a->HeldElsewhere(Space::kBlob, "x"));  // this process holds it
}

TEST(CoordinationTest, CountersStayExactUnderTwoGatewaysAndManyThreads) {
  TempDir dir;
  auto a = Join(dir.path());
  a->Serving();
  auto b = Join(dir.path());
  int counter = 0;  // guarded by the name lock alone
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    Coordination* co = i % 2 ? b.get() : a.get();
    ts.emplace_back([co, &counter] {
      for (int k = 0; k < 2000; ++k) {
        auto g = co->Lock(Space::kQuota, "c");
        int v = counter;
        std::this_thread::yield();
        counter = v + 1;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(counter, 8000);
}

TEST(CoordinationTest, ALockOfAnotherSpaceOnTheSameStripeIndexDoesNotWaitOnItself) {
  TempDir dir;
  auto a = Join(dir.path());
  // A blob whose offset has the container's stripe index: a handler holding
  // the container's lock takes the blob's (and a commit, its quota's).
  uint64_t want = Coordination::Offset(Space::kContainer, "c") % 256;
  std::string blob;
  for (int i = 0; i < 100000 && blob.empty(); ++i) {
    std::string k = std::string("c\0b", 3) + std::to_string(i);
    if (Coordination::Offset(Space::kBlob, k) % 256 == want) blob = k;
  }
  ASSERT_FALSE(blob.empty());
  std::atomic<bool> done{false};
  std::thread t([&] {
    auto c = a->Lock(Space::kContainer, "c");
    auto b = a->Lock(Space::kBlob, blob);
    auto q = a->Lock(Space::kQuota, "c");
    done = c.owns() && b.owns() && q.owns();
  });
  for (int i = 0; i < 500 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!done.load()) {
    t.detach();  // stuck for good: leave it
    FAIL() << "a nested lock of another space waits on its own stripe";
  }
  t.join();
}

TEST(CoordinationTest, PairsInOppositeOrdersDoNotDeadlock) {
  TempDir dir;
  auto a = Join(dir.path());
  a->Serving();
  auto b = Join(dir.path());
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    Coordination* co = i % 2 ? b.get() : a.get();
    bool flip = i / 2;
    ts.emplace_back([co, flip] {
      for (int k = 0; k < 2000; ++k) {
        std::string x = "k" + std::to_string(k % 7), y = "k" + std::to_string(k % 5);
        auto p = flip ? co->LockPair(Space::kBlob, x, Space::kBlob, y)
                      : co->LockPair(Space::kBlob, y, Space::kBlob, x);
        EXPECT_TRUE(p.first.owns());
      }
    });
  }
  for (auto& t : ts) t.join();
}

TEST(CoordinationTest, SingleGatewayAndCoordinatedOnesRefuseEachOther) {
  TempDir dir;
  {
    auto single = Join(dir.path(), true);
    ASSERT_TRUE(single);
    auto other = Coordination::Open(PosixFs(), dir.path(), false);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.status().kind(), ErrorKind::kBusy);
    auto second = Coordination::Open(PosixFs(), dir.path(), true);
    EXPECT_FALSE(second.ok());
  }
  auto a = Join(dir.path());
  a->Serving();
  auto single = Coordination::Open(PosixFs(), dir.path(), true);
  ASSERT_FALSE(single.ok());
  EXPECT_NE(single.status().message().find("--single-gateway"), std::string::npos);
}

TEST(CoordinationTest, AGatewayThatIsGoneIsReapedOnce) {
  TempDir dir;
  auto a = Join(dir.path());
  a->Serving();
  {
    auto b = Join(dir.path());
    EXPECT_TRUE(a->DeadGateways().empty());
  }  // a clean stop unregisters: nothing to reap
  EXPECT_TRUE(a->DeadGateways().empty());
  std::string dead_id = DeadGatewayOn(dir.path());
  ASSERT_FALSE(dead_id.empty());
  auto dead = a->DeadGateways();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0], dead_id);
  int runs = 0;
  EXPECT_TRUE(a->Reap(dead_id, [&] { return ++runs, false; }));  // not done: stays
  EXPECT_EQ(a->DeadGateways().size(), 1u);
  EXPECT_TRUE(a->Reap(dead_id, [&] { return ++runs, true; }));
  EXPECT_EQ(runs, 2);
  EXPECT_TRUE(a->DeadGateways().empty());
  EXPECT_FALSE(a->Reap(a->id(), [] { return true; }));
}

TEST(CoordinationTest, ALongLockExcludesGatewaysAndThreadsButNoOtherName) {
  TempDir dir;
  auto a = Join(dir.path());
  a->Serving();
  auto b = Join(dir.path());
  auto held = a->LockLong(Space::kMove, std::string("c\0b", 3));
  ASSERT_TRUE(held.owns());
  EXPECT_TRUE(b->HeldElsewhere(Space::kMove, std::string("c\0b", 3)));
  EXPECT_FALSE(b->TryLockLong(Space::kMove, std::string("c\0b", 3)).owns());
  // Another thread of the holder's process is kept out too.
  std::thread([&] {
    EXPECT_FALSE(a->TryLockLong(Space::kMove, std::string("c\0b", 3)).owns());
  }).join();
  EXPECT_TRUE(b->TryLockLong(Space::kMove, std::string("c\0other", 7)).owns());
  // A name on the stripe the long lock's offset maps to stays free: a move
  // held for minutes must not hold up requests for other blobs, nor the
  // mover itself when it locks its blob (same stripe by chance).
  uint64_t stripe = Coordination::Offset(Space::kMove, std::string("c\0b", 3)) % 256;
  std::string same;
  for (int i = 0; i < 100000 && same.empty(); ++i) {
    std::string k = "k" + std::to_string(i);
    if (Coordination::Offset(Space::kBlob, k) % 256 == stripe) same = k;
  }
  ASSERT_FALSE(same.empty());
  EXPECT_TRUE(a->TryLock(Space::kBlob, same).owns());
  // b waits for it and gets it once a lets go.
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto g = b->LockLong(Space::kMove, std::string("c\0b", 3));
    got = g.owns();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(got.load());
  held.unlock();
  t.join();
  EXPECT_TRUE(got.load());
  EXPECT_FALSE(b->HeldElsewhere(Space::kMove, std::string("c\0b", 3)));
}

TEST(CoordinationTest, AGatewayIsAliveWhileItsProcessHoldsItsRegistration) {
  TempDir dir;
  auto a = Join(dir.path());
  a->Serving();
  auto b = Join(dir.path());
  std::string bid = b->id();
  EXPECT_TRUE(a->Alive(a->id()));
  EXPECT_TRUE(a->Alive(bid));
  EXPECT_FALSE(a->Alive("no-such-gateway"));
  EXPECT_FALSE(a->Alive("../gateways"));
  // A role held by b passes to a when b is gone (its locks go with it).
  auto role = b->TryLockLong(Space::kRole, "tier-leader");
  ASSERT_TRUE(role.owns());
  EXPECT_FALSE(a->TryLockLong(Space::kRole, "tier-leader").owns());
  role = Coordination::Guard();
  b.reset();  // its file descriptions close, as when its process dies
  EXPECT_FALSE(a->Alive(bid));
  EXPECT_TRUE(a->TryLockLong(Space::kRole, "tier-leader").owns());
}

TEST(CoordinationTest, MountsThatKeepLocksLocalAreNamed) {
  const std::string ok_nfs =
      "rw,relatime,vers=4.1,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,lookupcache=pos,"
      "local_lock=none";
  MountInfo m{"nfs4", ok_nfs, "/mnt/shared"};
  EXPECT_EQ(CheckMountForSharing(m), "");
  m.options = "rw,vers=4.2,noac,lookupcache=none";
  EXPECT_EQ(CheckMountForSharing(m), "");
  m.options = ok_nfs + ",local_lock=all";
  EXPECT_NE(CheckMountForSharing(m).find("local_lock"), std::string::npos);
  m = {"nfs", "rw,vers=3,nolock,noac,lookupcache=none", "/mnt/x"};
  EXPECT_NE(CheckMountForSharing(m).find("/mnt/x"), std::string::npos);
  m = {"nfs4", "rw,nocto,noac,lookupcache=none", "/mnt/y"};
  EXPECT_NE(CheckMountForSharing(m).find("nocto"), std::string::npos);
  // Linux's defaults: attributes cached for seconds, failed lookups too.
  m = {"nfs4", "rw,relatime,vers=4.2,acregmin=3,acregmax=60,local_lock=none", "/mnt/z"};
  EXPECT_NE(CheckMountForSharing(m).find("lookupcache"), std::string::npos);
  m.options += ",lookupcache=pos";
  EXPECT_NE(CheckMountForSharing(m).find("actimeo=0"), std::string::npos);
  m = {"lustre", "rw,localflock", "/lustre"};
  EXPECT_NE(CheckMountForSharing(m).find("flock"), std::string::npos);
  m = {"lustre", "rw,flock", "/lustre"};
  EXPECT_EQ(CheckMountForSharing(m), "");
  m = {"ext4", "rw,nolock", "/"};  // not a network file system: nothing to say
  EXPECT_EQ(CheckMountForSharing(m), "");
}

TEST(CoordinationTest, TheMountOfARootIsFound) {
  TempDir dir;
  auto m = MountOf(dir.path());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->fstype.empty());
  EXPECT_EQ(dir.path().rfind(m->mount_point == "/" ? "/" : m->mount_point, 0), 0u);
}

}  // namespace
}  // namespace strata::ns
