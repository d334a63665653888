#include "dfs/errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strata::dfs {
namespace {

TEST(DfsErrorsTest, EveryErrorHasItsOwnRow) {
  for (int i = 0; i < static_cast<int>(DfsError::kEnd); ++i) {
    auto e = static_cast<DfsError>(i);
    if (e != DfsError::kFilesystemNotFound) {
      EXPECT_NE(&Info(e), &Info(DfsError::kFilesystemNotFound)) << i;
    }
  }
}

TEST(DfsErrorsTest, JsonBodyAndHeaders) {
  http::Response r = JsonError(DfsError::kPathNotFound, "x");
  EXPECT_EQ(r.status, 404);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "PathNotFound");
  EXPECT_EQ(j["error"]["message"], "The specified path does not exist. x");
  bool code = false, type = false;
  for (const auto& [k, v] : r.HeaderList()) {
    code = code || (k == "x-ms-error-code" && v == "PathNotFound");
    type = type || (k == "Content-Type" && v.rfind("application/json", 0) == 0);
  }
  EXPECT_TRUE(code);
  EXPECT_TRUE(type);
}

}  // namespace
}  // namespace strata::dfs
