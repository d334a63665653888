// Named crash points (test builds only): "a crash at any instant" tested
// instant by instant.
//
//   STRATA_CRASH_POINT("tier.offload.uploaded");
//
// When the build defines STRATA_CRASH_POINTS and the environment variable
// STRATA_CRASH_AT equals the point's name, the process SIGKILLs itself
// there: no destructors, no flushing, as a power cut or the OOM killer
// would. Names are "LAYER.OPERATION.STEP_DONE". Without STRATA_CRASH_POINTS
// the macro compiles to nothing.
#pragma once

#ifdef STRATA_CRASH_POINTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace strata {
inline void CrashPoint(const char* name) {
  static const char* at = ::getenv("STRATA_CRASH_AT");
  if (at && ::strcmp(at, name) == 0) ::kill(::getpid(), SIGKILL);
}
}  // namespace strata
#define STRATA_CRASH_POINT(name) ::strata::CrashPoint(name)
#else
#define STRATA_CRASH_POINT(name) \
  do {                           \
  } while (0)
#endif
