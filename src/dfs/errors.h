// The dfs error table: the codes of the ADLS Gen2 API that the Blob API's
// table (api/errors.h) lacks, answered as JSON
//   {"error":{"code":"...","message":"..."}}
// with x-ms-error-code and Content-Type application/json.
#pragma once

#include <string>

#include "api/errors.h"
#include "common/status.h"

namespace strata::dfs {

enum class DfsError {
  kFilesystemNotFound,
  kFilesystemAlreadyExists,
  kFilesystemBeingDeleted,
  kPathNotFound,
  kPathAlreadyExists,
  kPathConflict,
  kResourceTypeMismatch,
  kDirectoryNotEmpty,
  kRenameDestinationParentPathNotFound,
  kSourcePathNotFound,
  kInvalidSourceUri,
  kInvalidRenameSourcePath,
  kInvalidFlushPosition,
  kInvalidPropertyName,
  kEnd,  // one past the last, for tests
};

const api::AzErrorInfo& Info(DfsError e);

http::Response JsonError(DfsError e, const std::string& detail = "");
http::Response JsonError(api::AzError e, const std::string& detail = "");
// 404 FilesystemNotFound or PathNotFound, by what a lookup reported.
http::Response PathNotFound(const Status& s);
// The JSON body of an error.
std::string JsonErrorBody(const std::string& code, const std::string& message);

}  // namespace strata::dfs
