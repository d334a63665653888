// Coordination: what the gateways sharing one root agree on, through the
// file system alone (strata runs no consensus of its own).
//
//   ROOT/.strata/locks/names        one byte-range (OFD) lock per name: a blob,
//                                   a container, a blob's tier move, a role
//   ROOT/.strata/locks/gateways     byte 0: read-locked by every running gateway,
//                                   write-locked by the one starting first while
//                                   it recovers; byte 1: write-locked by a
//                                   --single-gateway process
//   ROOT/.strata/gateways/ID        one file per running gateway, write-locked
//                                   for its life: a free lock means it died
//
// A name lock is an in-process mutex stripe plus an OFD lock on one byte of
// the names file, at an offset hashed from the space and the name. The OFD
// locks of all threads share one open file description, so they do not
// exclude each other: the stripe does that. Stripes are taken before bytes
// and each kind in one global order (LockPair), so no two threads or
// gateways wait on each other in a cycle. OFD locks vanish with the process
// that held them, so a gateway killed mid-request holds nothing.
//
// In single-gateway mode (the operator says so) there are no files and no
// OFD locks, only the stripes; a coordinated gateway refuses to start beside a
// single one and the other way round.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fs/fs.h"

namespace strata::ns {

// What is wrong with mount m for gateways on several nodes sharing it (locks
// kept local to a node, no close-to-open consistency), or "" when nothing
// seen is.
std::string CheckMountForSharing(const MountInfo& m);

class Coordination {
 public:
  enum class Space : uint8_t { kBlob = 1, kContainer = 2, kMove = 3, kQuota = 4, kRole = 5 };

  // A held lock (or nothing: owns() false). Movable; released when destroyed.
  class Guard {
   public:
    Guard() = default;
    Guard(Guard&& o) noexcept { *this = std::move(o); }
    Guard& operator=(Guard&& o) noexcept;
    ~Guard() { unlock(); }
    bool owns() const { return mu_ != nullptr; }
    explicit operator bool() const { return owns(); }
    void unlock();
    // Where the lock sits in the global order (LockPair).
    uint64_t offset() const { return off_; }

   private:
    friend class Coordination;
    Coordination* co_ = nullptr;
    std::mutex* mu_ = nullptr;
    uint64_t off_ = 0;
    bool file_ = false;  // the OFD byte at off_ is held too
    uint64_t off2_ = 0;  // LockPair of two names on one stripe: both bytes here
    bool file2_ = false;
    bool long_ = false;  // LockLong: a name in held_, no stripe
  };

  // In-process only: stripes, no files (unit tests; --single-gateway).
  static std::unique_ptr<Coordination> InProcess();
  // Joins the gateways of `root`: checks that the file system enforces OFD
  // locks between open file descriptions and that its mount options keep
  // them and close-to-open consistency (else kUnsupported naming what is
  // wrong), registers this gateway, and takes the start lock (first() says
  // whether it was the only one). `single`: the operator says this is the
  // only gateway; no checks, refused (kBusy) while coordinated gateways run.
  // Waits while another gateway is recovering at start.
  static Result<std::unique_ptr<Coordination>> Open(Fs* fs, const std::string& root, bool single);
  ~Coordination();

  bool single() const { return single_; }
  // No other gateway was running on the root when this one started: it
  // recovers what earlier runs left (counters, journals, staged files)
  // before calling Serving().
  bool first() const { return first_; }
  // Unique among the gateways of the root, ever: host, pid, start time.
  const std::string& id() const { return id_; }
  // Recovery is done: other gateways waiting in Open() may start.
  void Serving();

  Guard Lock(Space s, std::string_view key);
  // !owns() when another thread or gateway holds it.
  Guard TryLock(Space s, std::string_view key);
  // Locks two names (either may equal the other) in the global order.
  std::pair<Guard, Guard> LockPair(Space s1, std::string_view k1, Space s2, std::string_view k2);
  // Lock and LockPair with the caller's own mutex per name (a pair's may be
  // one) in place of the stripes: for a lock always taken last (a
  // container's quota), while a stripe lock such as a blob's is held. Taking
  // that blob's stripe again could wait on this very thread when both names
  // hash to one stripe. Mutexes in address order, then bytes in offset order.
  Guard Lock(Space s, std::string_view key, std::mutex* mu);
  std::pair<Guard, Guard> LockPair(Space s1, std::string_view k1, std::mutex* mu1, Space s2,
                                   std::string_view k2, std::mutex* mu2);
  // Whether another gateway holds (s, key) right now (not this process).
  bool HeldElsewhere(Space s, std::string_view key);

  // Locks held long (a tier move for its whole upload or download, a role
  // for the process' life). Threads of this process are kept apart per
  // name, not by a stripe, so holding one never holds up threads locking
  // other names. Never taken while a Lock/TryLock/LockPair guard is held:
  // a long holder takes those inside, and waiting on one under a stripe
  // could wait forever.
  Guard LockLong(Space s, std::string_view key);
  Guard TryLockLong(Space s, std::string_view key);

  // Whether gateway `id` runs: its registration exists and is locked (this
  // gateway: true; in single-gateway mode every other id is gone). An id
  // whose registration cannot be looked at for another reason than its
  // absence counts as alive: nothing of it is taken over.
  bool Alive(const std::string& id);

  // Ids of the gateways registered on the root whose process is gone.
  std::vector<std::string> DeadGateways();
  // Holds dead gateway `id`'s registration (so no other survivor acts on it
  // meanwhile) and runs fn; when fn returns true, everything of it has been
  // recovered and its registration is removed. False when it is alive or
  // being reaped by another survivor.
  bool Reap(const std::string& id, const std::function<bool()>& fn);

  // Offset of (s, key) in the names file; its stripe is offset % kStripes
  // among its space's.
  static uint64_t Offset(Space s, std::string_view key);

 private:
  Coordination() = default;
  static constexpr size_t kStripes = 256;
  // Each space has stripes of its own, so a lock of one space may be taken
  // while one of another is held (a container's, then a blob's; a blob's,
  // then its container's quota) without ever waiting on itself.
  static constexpr size_t kSpaces = 8;
  std::mutex* Stripe(uint64_t off) { return &stripes_[(off >> 56) % kSpaces][off % kStripes]; }
  bool FileLock(uint64_t off, bool wait);
  void FileUnlock(uint64_t off);
  Guard LongLock(Space s, std::string_view key, bool wait);
  void LongUnlock(uint64_t off);

  Fs* fs_ = nullptr;
  std::string root_;
  bool single_ = true;
  bool first_ = true;
  std::string id_;
  std::unique_ptr<File> names_;     // null in-process
  std::unique_ptr<File> gateways_;  // the start/registry lock file
  std::unique_ptr<File> self_;      // ROOT/.strata/gateways/ID, locked
  std::mutex stripes_[kSpaces][kStripes];
  std::mutex held_mu_;  // guards held_
  std::condition_variable held_cv_;
  std::set<uint64_t> held_;  // offsets of the LockLong names held in this process
};

}  // namespace strata::ns
