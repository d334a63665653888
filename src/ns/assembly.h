// The state of one assembly file, shared by Store and the BlockSlots that
// write into it (see Store::ReserveBlock). Private to the ns layer.
#pragma once

#include <cstdint>
#include <string>

namespace strata::ns {

// This process's assembly file for one blob. Guarded by Store::asm_mu_.
struct Assembly {
  std::string path;      // BLOCKDIR/asm.TOKEN.GEN
  uint64_t end = 0;      // the next free offset: every byte below is reserved
  int in_flight = 0;     // slots reserved and not yet published or given back
  bool dead = false;     // no longer this blob's assembly file (committed or dropped)
};

// The xattr of a block entry that lives in an assembly file: "NAME OFFSET".
inline constexpr char kBlockRefXattr[] = "user.strata.block";
inline constexpr char kAssemblyPrefix[] = "asm.";

}  // namespace strata::ns
