// The one table of Azure errors: status, code and default message. Handlers
// name an AzError; nothing else in strata writes a wire error code.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "http/message.h"

namespace strata::api {

enum class AzError {
  kAuthenticationFailed,
  kAuthorizationPermissionMismatch,
  kAuthorizationResourceTypeMismatch,
  kAuthorizationSourceIPMismatch,
  kAuthorizationProtocolMismatch,
  kAuthorizationServiceMismatch,
  kAuthorizationFailure,  // e.g. a container-level operation with a container SAS
  kNoAuthenticationInformation,
  kInvalidAuthenticationInfo,  // a bearer token that does not validate (401, WWW-Authenticate)
  kResourceNotFound,
  kAccountNotFound,  // unknown account in the URL or Host
  kContainerNotFound,
  kContainerAlreadyExists,
  kContainerBeingDeleted,
  kBlobNotFound,
  kBlobAlreadyExists,
  kInvalidResourceName,
  kInvalidBlobOrBlock,
  kInvalidBlockId,
  kInvalidBlockList,
  kInvalidXmlDocument,
  kInvalidXmlNodeValue,
  kInvalidQueryParameterValue,
  kOutOfRangeQueryParameterValue,
  kInvalidHeaderValue,
  kMissingRequiredHeader,
  kMissingRequiredQueryParameter,
  kInvalidInput,
  kInvalidRange,
  kOutOfRangeInput,
  kMd5Mismatch,
  kCrc64Mismatch,
  kInvalidMd5,
  kRequestBodyTooLarge,
  kRequestHeaderTooLarge,
  kUnsupportedHeader,
  kTransferEncodingNotImplemented,  // a Transfer-Encoding other than chunked
  kUnsupportedQueryParameter,
  kUnsupportedHttpVerb,
  kInvalidUri,
  kConditionNotMet,
  kTargetConditionNotMet,
  kSourceConditionNotMet,
  kInvalidBlobType,
  kAppendPositionConditionNotMet,
  kMaxBlobSizeConditionNotMet,
  kBlobIsSealed,  // Append Block to a sealed append blob
  kBlockCountExceedsLimit,             // committed blocks (Put Block List, Append Block)
  kUncommittedBlockCountExceedsLimit,  // Put Block: the blob has the most uncommitted blocks
  kLeaseNotPresentWithBlobOperation,
  kLeaseNotPresentWithContainerOperation,
  kLeaseNotPresentWithLeaseOperation,
  kLeaseIdMismatchWithBlobOperation,
  kLeaseIdMismatchWithContainerOperation,
  kLeaseIdMismatchWithLeaseOperation,
  kLeaseIdMissing,
  kLeaseAlreadyPresent,
  kLeaseAlreadyBroken,
  kLeaseIsBrokenAndCannotBeRenewed,
  kLeaseIsBreakingAndCannotBeAcquired,
  kLeaseIsBreakingAndCannotBeChanged,
  kLeaseLost,
  kCannotVerifyCopySource,
  kPathConflict,  // blob "a" vs "a/b"
  kInsufficientAccountPermissions,
  kShareSizeLimitReached,  // a container's configured limit (Azure Files' code for a full share)
  kInternalError,
  kServerBusy,
  kBlobArchived,
  kBlobBeingRehydrated,
  kOperationTimedOut,
  kInvalidOperation,
  kEmptyMetadataKey,
  kInvalidMetadata,
  kContentLengthMismatch,
  kNoPendingCopyOperation,
  kPendingCopyOperation,
  kCopyIdMismatch,
  kCorsPreflightFailure,
  kMetadataTooLarge,           // names and values of x-ms-meta-* over 8 KiB
  kUnsatisfiableCondition,     // If-None-Match: * on a read
  kResourceNameOutOfRange,     // a container name shorter than 3 or longer than 63
  kEnd,  // not an error: one past the last, so tests can walk every value
};

struct AzErrorInfo {
  int status;
  const char* code;
  const char* message;
};

const AzErrorInfo& Info(AzError e);

// The full error response: status, x-ms-error-code, and the XML body
// <Error><Code/><Message/></Error> (Message gets `detail` appended).
http::Response ErrorResponse(AzError e, const std::string& detail = "");
// An error about one request header, which Azure names after the message:
// <HeaderName>, and <HeaderValue> (the value as sent) when the request has
// the header.
http::Response HeaderError(AzError e, const http::Request& req, std::string_view header,
                           const std::string& detail = "");
// An error about one query parameter: <QueryParameterName>, its value as
// sent (decoded) in <QueryParameterValue> when present, and `reason` in
// <Reason> when not empty.
http::Response QueryError(AzError e, const http::Request& req, std::string_view param,
                          std::string_view reason = "");
// A request naming no operation of its resource (an unknown or missing
// comp, an unknown restype): 400 InvalidQueryParameterValue naming `param`,
// with <QueryParameterValue> (empty when the request lacks it) and an empty
// <Reason>, as Azure writes it.
http::Response UnknownOperationError(const http::Request& req, std::string_view param);
// Ends an error body's message with Azure's two lines "\nRequestId:<id>"
// and "\nTime:<ISO 8601, 7 fractional digits>", in the XML <Message> or
// the JSON "message" (dfs) alike. Other responses are left as they are.
void AddRequestLines(http::Response& r, std::string_view request_id, TimeNs now);

// Maps a namespace Status to an Azure error for a blob or container request.
AzError FromStatus(const Status& s, bool blob_request);
// What of `s` a client may read: the message of a refusal made for clients
// (an invalid name, a quota), else nothing. File-system errors name host
// paths and errno texts, which stay in the server's log.
std::string PublicDetail(const Status& s);
// The detail an error response of `status` may carry: none for server
// errors (5xx), whose detail is logged instead.
std::string ClientDetail(int status, const std::string& detail);

}  // namespace strata::api
