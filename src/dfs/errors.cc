#include "dfs/errors.h"

#include <nlohmann/json.hpp>

namespace strata::dfs {

namespace {
struct Row {
  DfsError e;
  api::AzErrorInfo info;
};

// clang-format off
const Row kTable[] = {
  {DfsError::kFilesystemNotFound, {404, "FilesystemNotFound", "The specified filesystem does not exist."}},
  {DfsError::kFilesystemAlreadyExists, {409, "FilesystemAlreadyExists", "The specified filesystem already exists."}},
  {DfsError::kFilesystemBeingDeleted, {409, "FilesystemBeingDeleted", "The specified filesystem is being deleted."}},
  {DfsError::kPathNotFound, {404, "PathNotFound", "The specified path does not exist."}},
  {DfsError::kPathAlreadyExists, {409, "PathAlreadyExists", "The specified path already exists."}},
  {DfsError::kPathConflict, {409, "PathConflict", "The specified path, or an element of the path, exists and its resource type is invalid for this operation."}},
  {DfsError::kResourceTypeMismatch, {409, "ResourceTypeMismatch", "The resource type specified in the request does not match the type of the resource."}},
  {DfsError::kDirectoryNotEmpty, {409, "DirectoryNotEmpty", "The recursive query parameter value must be true to delete a non-empty directory."}},
  {DfsError::kRenameDestinationParentPathNotFound, {404, "RenameDestinationParentPathNotFound", "The parent directory of the destination path does not exist."}},
  {DfsError::kSourcePathNotFound, {404, "SourcePathNotFound", "The source path for a rename operation does not exist."}},
  {DfsError::kInvalidSourceUri, {400, "InvalidSourceUri", "The source URI is invalid."}},
  {DfsError::kInvalidRenameSourcePath, {400, "InvalidRenameSourcePath", "The source directory cannot be the same as the destination directory, nor can the destination be a subdirectory of the source directory."}},
  {DfsError::kInvalidFlushPosition, {400, "InvalidFlushPosition", "The uploaded data is not contiguous or the position query parameter value is not equal to the length of the file after appending the uploaded data."}},
  {DfsError::kInvalidPropertyName, {400, "InvalidPropertyName", "The property name contains invalid characters."}},
};
// clang-format on
}  // namespace

const api::AzErrorInfo& Info(DfsError e) {
  for (const auto& row : kTable)
    if (row.e == e) return row.info;
  return kTable[0].info;  // unreachable: errors_test checks every value has a row
}

std::string JsonErrorBody(const std::string& code, const std::string& message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
http::Response Make(const api::AzErrorInfo& info, const std::string& detail) {
  http::Response r;
  r.status = info.status;
  r.Set("x-ms-error-code", info.code);
  r.note.error_code = info.code;  // for the access log and metrics
  r.Set("Content-Type", "application/json;charset=utf-8");
  std::string msg = info.message;
  if (std::string d = api::ClientDetail(info.status, detail); !d.empty()) msg += " " + d;
  r.body = JsonErrorBody(info.code, msg);
  return r;
}
}  // namespace

http::Response JsonError(DfsError e, const std::string& detail) { return Make(Info(e), detail); }
http::Response JsonError(api::AzError e, const std::string& detail) {
  return Make(api::Info(e), detail);
}

http::Response PathNotFound(const Status& s) {
  return JsonError(s.kind() == ErrorKind::kContainerNotFound ? DfsError::kFilesystemNotFound
                                                             : DfsError::kPathNotFound);
}

}  // namespace strata::dfs
