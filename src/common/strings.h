// Small, pure string helpers: encodings, case, URL escapes. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

std::string Base64Encode(std::string_view bytes);
// Standard alphabet with padding; returns nullopt on any invalid character
// or bad length.
std::optional<std::string> Base64Decode(std::string_view text);
std::string HexEncode(std::string_view bytes);

std::string ToLower(std::string_view s);
bool IEquals(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);
std::string_view Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);

// Percent-decoding. `plus_as_space` decodes '+' as ' ' (query strings).
// Returns nullopt on a malformed escape.
std::optional<std::string> UrlDecode(std::string_view s, bool plus_as_space = false);
// The same, appended to *out; false (with *out partly appended) on a bad escape.
bool UrlDecodeTo(std::string_view s, bool plus_as_space, std::string* out);
// Percent-encodes everything except unreserved characters and those in `keep`.
std::string UrlEncode(std::string_view s, std::string_view keep = "");

// Parses a decimal unsigned integer with no sign or spaces.
std::optional<uint64_t> ParseUint(std::string_view s);

// A GUID in any of the forms .NET (and so Azure) parses: 32 hex digits
// ("N"), hyphenated 8-4-4-4-12 ("D"), or "D" in braces or parentheses; as
// the lowercase "D" form. nullopt for anything else.
std::optional<std::string> CanonicalGuid(std::string_view s);

// XML text escaping for element content and attribute values.
std::string XmlEscape(std::string_view s);
// Appends s to out, XML-escaped (XmlEscape without the temporary).
void AppendXmlEscaped(std::string& out, std::string_view s);

}  // namespace strata
