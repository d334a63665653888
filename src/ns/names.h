// Name rules: which container and blob names can be stored, and how a blob
// name maps to a path relative to its container directory. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace strata::ns {

// Azure container rules: 3-63 chars of [a-z0-9-], starting and ending with a
// letter or digit, no "--". "$root" is accepted. Returns kInvalidName.
Status ValidateContainerName(std::string_view name);
// Whether a container name breaks the rules by its length alone (Azure
// answers such a name with another error than a bad character).
bool ContainerNameLengthOutOfRange(std::string_view name);
// Whether a blob name is longer than 1024 characters (UTF-8 code points).
bool BlobNameTooLong(std::string_view name);

// A blob name maps to the same relative path when each '/'-separated
// segment is non-empty, is not "." or "..", is at most 255 bytes and holds
// no NUL, and the name is valid UTF-8. The whole name is 1..1024 characters (UTF-8 code points; segment
// limits are in bytes, as the file system counts them). On failure returns
// kInvalidName whose message names the broken rule.
Status ValidateBlobName(std::string_view name);
// Azure's front end reads a backslash in a URL's path as a forward slash
// (before the name is looked at): a blob sent as a\b is the blob a/b.
// Rewrites `name` (decoded) so.
void NormalizeBlobName(std::string* name);
// Well-formed UTF-8: shortest forms only, no surrogates, nothing past U+10FFFF.
bool IsValidUtf8(std::string_view s);

}  // namespace strata::ns
