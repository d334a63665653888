#include "http/tls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace strata::http {
namespace {

using namespace std::string_literals;

TEST(TlsFirstByte, HandshakeHttpAndOther) {
  EXPECT_EQ(ClassifyFirstByte(0x16), FirstByte::kTls);
  for (char c : "GPHDOCT"s) EXPECT_EQ(ClassifyFirstByte(c), FirstByte::kPlainHttp) << c;
  EXPECT_EQ(ClassifyFirstByte(0x80), FirstByte::kOther);  // SSLv2 hello
  EXPECT_EQ(ClassifyFirstByte(0x15), FirstByte::kOther);  // an alert
  EXPECT_EQ(ClassifyFirstByte('g'), FirstByte::kOther);
  EXPECT_EQ(ClassifyFirstByte(0), FirstByte::kOther);
}

TEST(TlsAlpn, PicksHttp11Only) {
  EXPECT_EQ(SelectAlpn("\x02h2\x08http/1.1"s), "http/1.1");
  EXPECT_EQ(SelectAlpn("\x08http/1.1"s), "http/1.1");
  EXPECT_EQ(SelectAlpn("\x08http/1.0\x08http/1.1"s), "http/1.1");
  EXPECT_EQ(SelectAlpn("\x02h2"s), std::nullopt);
  EXPECT_EQ(SelectAlpn(""s), std::nullopt);
  EXPECT_EQ(SelectAlpn("\x09http/1.1"s), std::nullopt);     // length past the end
  EXPECT_EQ(SelectAlpn("\x00\x08http/1.1"s), std::nullopt);  // empty name: malformed
  EXPECT_EQ(SelectAlpn("\x07http/1.\x08http/1.1"s), "http/1.1");
}

// A P-256 key and a self-signed certificate for it, as PEM files in a
// temporary directory.
class TlsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-tls-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    other_key_ = dir_ + "/other.pem";
    EVP_PKEY* key = EVP_EC_gen("P-256");
    EVP_PKEY* other = EVP_EC_gen("P-256");
    ASSERT_TRUE(key && other);
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
    Write(cert_, [&](FILE* f) { return PEM_write_X509(f, x); });
    Write(key_, [&](FILE* f) {
      return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
    Write(other_key_, [&](FILE* f) {
      return PEM_write_PrivateKey(f, other, nullptr, nullptr, 0, nullptr, nullptr);
    });
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
  }
  void TearDown() override {
    for (const auto& f : {cert_, key_, other_key_, dir_ + "/empty.pem"}) ::unlink(f.c_str());
    ::rmdir(dir_.c_str());
  }
  template <typename Fn>
  void Write(const std::string& path, Fn fn) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(fn(f), 1);
    std::fclose(f);
  }
  std::string dir_, cert_, key_, other_key_;
};

TEST_F(TlsFiles, LoadsAMatchingPair) {
  auto ctx = TlsContext::Load(cert_, key_);
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  EXPECT_NE((*ctx)->native(), nullptr);
}

TEST_F(TlsFiles, RefusesWithAMessageNamingTheFile) {
  auto missing = TlsContext::Load(dir_ + "/none.pem", key_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--cert " + dir_ + "/none.pem"), std::string::npos);
  EXPECT_NE(missing.status().message().find("No such file"), std::string::npos);

  auto no_key = TlsContext::Load(cert_, dir_ + "/none.pem");
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.status().message().find("--key"), std::string::npos);

  std::ofstream(dir_ + "/empty.pem").close();
  auto empty = TlsContext::Load(dir_ + "/empty.pem", key_);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("not a PEM certificate"), std::string::npos);

  auto swapped = TlsContext::Load(key_, cert_);
  ASSERT_FALSE(swapped.ok());
  EXPECT_NE(swapped.status().message().find("not a PEM certificate"), std::string::npos);

  auto cert_as_key = TlsContext::Load(cert_, cert_);
  ASSERT_FALSE(cert_as_key.ok());
  EXPECT_NE(cert_as_key.status().message().find("not a PEM private key"), std::string::npos);

  auto mismatched = TlsContext::Load(cert_, other_key_);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("does not belong to the certificate"),
            std::string::npos)
      << mismatched.status().message();

  auto none = TlsContext::Load("", key_);
  ASSERT_FALSE(none.ok());
}

}  // namespace
}  // namespace strata::http
