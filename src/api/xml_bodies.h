// The XML request bodies handlers read: Put Block List's <BlockList> and
// Set Container ACL's <SignedIdentifiers>. Pure functions of the body
// bytes (fuzz/ drives them), thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/errors.h"
#include "ns/record.h"

namespace strata::api {

// Why a body was refused: the error to answer with and its detail.
struct BodyError {
  AzError error;
  std::string detail;
};

// One entry of a block list, the block id Base64-decoded (1 to 64 bytes).
struct BlockListEntry {
  enum Kind { kLatest, kCommitted, kUncommitted } kind;
  std::string id;
};

// Parses <BlockList><Latest|Committed|Uncommitted>BASE64</...>...</BlockList>
// into *out, in document order. On failure returns InvalidXmlDocument (not
// XML, another root, an unknown element) or InvalidBlockList (an id that is
// not Base64 of 1 to 64 bytes); *out is then unspecified.
std::optional<BodyError> ParseBlockList(std::string_view body, std::vector<BlockListEntry>* out);

// Parses <SignedIdentifiers><SignedIdentifier><Id/><AccessPolicy><Start/>
// <Expiry/><Permission/></AccessPolicy></SignedIdentifier>...
// into *out. On failure returns InvalidXmlDocument: not XML, another root,
// an Id not 1 to 64 characters, a Start or Expiry not ISO 8601, or more
// than 5 identifiers. REQUIRES: body is not blank (a blank body clears the
// ACL; the handler decides that).
std::optional<BodyError> ParseSignedIdentifiers(std::string_view body,
                                                std::vector<ns::SignedIdentifier>* out);

}  // namespace strata::api
