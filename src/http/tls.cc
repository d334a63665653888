#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace strata::http {

namespace {

// The reason OpenSSL gave for the last failure on this thread ("" when
// none), and the queue cleared.
std::string OpenSslReason() {
  unsigned long e = ERR_peek_error();  // the first: the cause ("no start line")
  std::string out;
  if (e != 0) {
    const char* reason = ERR_reason_error_string(e);
    out = reason ? reason : "error " + std::to_string(e);
  }
  ERR_clear_error();
  return out;
}

Status Bad(const std::string& what) { return Status(ErrorKind::kInvalidArgument, what); }

int SelectAlpnCallback(SSL*, const unsigned char** out, unsigned char* outlen,
                       const unsigned char* in, unsigned int inlen, void*) {
  auto pick = SelectAlpn(std::string_view(reinterpret_cast<const char*>(in), inlen));
  if (!pick) return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = reinterpret_cast<const unsigned char*>(pick->data());
  *outlen = static_cast<unsigned char>(pick->size());
  return SSL_TLSEXT_ERR_OK;
}

// TLS 1.2 suites (TLS 1.3 has its own, all good): forward secrecy and AEAD
// only, ECDSA before RSA, AES-GCM before ChaCha20 (AES-NI machines).
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// TLS 1.3: AES-128-GCM first (as Mozilla's recommendation; faster than
// AES-256 with no practical loss), then AES-256-GCM and ChaCha20.
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

}  // namespace

FirstByte ClassifyFirstByte(unsigned char b) {
  if (b == 0x16) return FirstByte::kTls;
  if (b >= 'A' && b <= 'Z') return FirstByte::kPlainHttp;
  return FirstByte::kOther;
}

std::optional<std::string_view> SelectAlpn(std::string_view list) {
  constexpr std::string_view kHttp11 = "http/1.1";
  while (!list.empty()) {
    size_t n = static_cast<unsigned char>(list[0]);
    if (n == 0 || n + 1 > list.size()) return std::nullopt;  // malformed
    if (list.substr(1, n) == kHttp11) return kHttp11;
    list.remove_prefix(n + 1);
  }
  return std::nullopt;
}

Result<std::shared_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                     const std::string& key_file) {
  // Readable at all? (OpenSSL's own message for a missing file is vague.)
  for (const std::string* f : {&cert_file, &key_file}) {
    const char* flag = f == &cert_file ? "--cert" : "--key";
    if (f->empty()) return Bad(std::string(flag) + " names no file");
    FILE* fp = std::fopen(f->c_str(), "rb");
    if (!fp) return Bad(std::string(flag) + " " + *f + ": " + std::strerror(errno));
    std::fclose(fp);
  }
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Status(ErrorKind::kIo, "TLS: cannot create a context: " + OpenSslReason());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx));
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    return Bad("--cert " + cert_file + ": not a PEM certificate chain (" + OpenSslReason() + ")");
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    int reason = ERR_GET_REASON(ERR_peek_last_error());
    if (reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH) {
      ERR_clear_error();
      return Bad("--key " + key_file + " does not belong to the certificate in --cert " + cert_file);
    }
    return Bad("--key " + key_file + ": not a PEM private key (" + OpenSslReason() + ")");
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return Bad("--key " + key_file + " does not belong to the certificate in --cert " + cert_file +
               " (" + OpenSslReason() + ")");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1)
    return Status(ErrorKind::kIo, "TLS: cipher list: " + OpenSslReason());
  // Partial writes: a write returns once some records are out, as send()
  // does, so progress is counted and the caller's buffer may move.
  // Release buffers: an idle connection holds no record buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read() takes what has arrived, not one record header
  // and then its body in two calls.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
  static const unsigned char kSessionContext[] = "strata";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpnCallback, nullptr);
  ERR_clear_error();
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace strata::http
