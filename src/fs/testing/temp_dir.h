// TempDir: a fresh directory under /tmp (mkdtemp) for one test, removed with
// everything in it when the object is destroyed. Test-only, header-only.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "fs/fs.h"

namespace strata {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { (void)PosixFs()->RemoveAll(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace strata
