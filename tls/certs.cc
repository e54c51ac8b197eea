#include "tls/certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace paxosfs::tls {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

std::string Hex(const unsigned char* bytes, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < n; ++i) {
    hex += kHex[bytes[i] >> 4];
    hex += kHex[bytes[i] & 15];
  }
  return hex;
}

// OpenSSL's reason for the last failure, for error messages.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

Status Failed(const std::string& what) {
  return Status::InvalidArgument(what + ": " + OpenSslError());
}

Bio ReadBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

StatusOr<Cert> ReadCert(const std::string& pem) {
  Bio bio = ReadBio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Failed("not a PEM certificate");
  return cert;
}

StatusOr<Key> ReadPrivateKey(const std::string& pem) {
  Bio bio = ReadBio(pem);
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Failed("not a PEM private key");
  return key;
}

StatusOr<std::string> WriteCert(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return Failed("PEM encoding");
  return BioText(bio.get());
}

std::string NameEntry(X509_NAME* name, int nid) {
  char buf[256];
  int n = X509_NAME_get_text_by_NID(name, nid, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value));
  if (ext == nullptr) return Failed(std::string("extension ") + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::Ok() : Failed("adding an extension");
}

// A certificate skeleton: v3, a random 127-bit serial, valid from an hour
// ago (clocks of nodes differ) for `days`, with subject CN/O and `key`.
StatusOr<Cert> NewCert(const std::string& cn, const std::string& org,
                       EVP_PKEY* key, int days) {
  Cert cert(X509_new());
  Bignum serial(BN_new());
  if (!cert || !serial ||
      BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
    return Failed("new certificate");
  }
  X509_set_version(cert.get(), 2);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add = [name](const char* field, const std::string& v) {
    return X509_NAME_add_entry_by_txt(
        name, field, MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(v.data()),
        static_cast<int>(v.size()), -1, 0);
  };
  if (add("CN", cn) != 1 || add("O", org) != 1) {
    return Failed("certificate subject '" + cn + "', '" + org + "'");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return Failed("public key");
  return cert;
}

}  // namespace

StatusOr<std::string> NewPrivateKey() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return Failed("generating an EC P-256 key");
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    return Failed("PEM encoding a key");
  }
  return BioText(bio.get());
}

StatusOr<std::string> PublicKeyOf(const std::string& private_key_pem) {
  auto key = ReadPrivateKey(private_key_pem);
  if (!key.ok()) return key.status();
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), key->get()) != 1) {
    return Failed("PEM encoding a public key");
  }
  return BioText(bio.get());
}

StatusOr<Ca> NewCa(const std::string& cluster_id) {
  auto key_pem = NewPrivateKey();
  if (!key_pem.ok()) return key_pem.status();
  auto key = ReadPrivateKey(*key_pem);
  if (!key.ok()) return key.status();
  auto cert = NewCert("paxosfs CA", cluster_id, key->get(), kCaValidDays);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  PAXOSFS_RETURN_IF_ERROR(
      AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  PAXOSFS_RETURN_IF_ERROR(
      AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
  PAXOSFS_RETURN_IF_ERROR(
      AddExtension(c, c, NID_subject_key_identifier, "hash"));
  if (X509_sign(c, key->get(), EVP_sha256()) == 0) return Failed("signing");
  auto pem = WriteCert(c);
  if (!pem.ok()) return pem.status();
  return Ca{*pem, *key_pem};
}

StatusOr<std::string> SignNodeCert(const Ca& ca, const std::string& cluster_id,
                                   uint64_t node_id,
                                   const std::string& public_key_pem) {
  auto ca_cert = ReadCert(ca.cert_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  auto ca_key = ReadPrivateKey(ca.key_pem);
  if (!ca_key.ok()) return ca_key.status();
  std::string ca_cluster =
      NameEntry(X509_get_subject_name(ca_cert->get()), NID_organizationName);
  if (ca_cluster != cluster_id) {
    return Status::InvalidArgument("the CA is of cluster '" + ca_cluster +
                                   "', not '" + cluster_id + "'");
  }
  Bio bio = ReadBio(public_key_pem);
  Key pub(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pub) return Failed("not a PEM public key");
  auto cert = NewCert("node-" + std::to_string(node_id), cluster_id, pub.get(),
                      kNodeValidDays);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(ca_cert->get()));
  X509* issuer = ca_cert->get();
  PAXOSFS_RETURN_IF_ERROR(
      AddExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  PAXOSFS_RETURN_IF_ERROR(
      AddExtension(c, issuer, NID_key_usage, "critical,digitalSignature"));
  PAXOSFS_RETURN_IF_ERROR(
      AddExtension(c, issuer, NID_ext_key_usage, "serverAuth,clientAuth"));
  std::string san = std::string("DNS:") + kServerName;
  PAXOSFS_RETURN_IF_ERROR(
      AddExtension(c, issuer, NID_subject_alt_name, san.c_str()));
  PAXOSFS_RETURN_IF_ERROR(
      AddExtension(c, issuer, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(c, ca_key->get(), EVP_sha256()) == 0) return Failed("signing");
  return WriteCert(c);
}

StatusOr<NodeCertInfo> ParseNodeCert(const std::string& cert_pem) {
  auto cert = ReadCert(cert_pem);
  if (!cert.ok()) return cert.status();
  X509_NAME* name = X509_get_subject_name(cert->get());
  NodeCertInfo info;
  info.cluster_id = NameEntry(name, NID_organizationName);
  info.common_name = NameEntry(name, NID_commonName);
  if (info.common_name.rfind("node-", 0) == 0) {
    char* end = nullptr;
    uint64_t id = std::strtoull(info.common_name.c_str() + 5, &end, 10);
    if (*end == '\0') info.node_id = id;
  }
  return info;
}

Status VerifySignedBy(const std::string& cert_pem,
                      const std::string& ca_cert_pem) {
  auto cert = ReadCert(cert_pem);
  if (!cert.ok()) return cert.status();
  auto ca = ReadCert(ca_cert_pem);
  if (!ca.ok()) return ca.status();
  EVP_PKEY* ca_key = X509_get0_pubkey(ca->get());
  if (ca_key == nullptr || X509_verify(cert->get(), ca_key) != 1) {
    ERR_clear_error();
    return Status::PermissionDenied(
        "the certificate is not signed by this cluster's CA");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert->get())) < 0) {
    return Status::PermissionDenied("the certificate has expired");
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert->get())) > 0) {
    return Status::PermissionDenied("the certificate is not valid yet");
  }
  return Status::Ok();
}

Status CheckKeyMatches(const std::string& cert_pem,
                       const std::string& private_key_pem) {
  auto cert = ReadCert(cert_pem);
  if (!cert.ok()) return cert.status();
  auto key = ReadPrivateKey(private_key_pem);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument(
        "the certificate does not carry the public key of this private key");
  }
  return Status::Ok();
}

StatusOr<std::string> Fingerprint(const std::string& cert_pem) {
  auto cert = ReadCert(cert_pem);
  if (!cert.ok()) return cert.status();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert->get(), EVP_sha256(), md, &len) != 1) {
    return Failed("fingerprint");
  }
  return Hex(md, len);
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

std::string HmacSha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(),
                key.size(), reinterpret_cast<const unsigned char*>(data.data()),
                data.size(), out, sizeof(out), &len) == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HexOf(const std::string& raw) {
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string RandomHex(int bytes) {
  std::string raw(static_cast<size_t>(bytes), '\0');
  // RAND_bytes only fails if the OS generator is unavailable, which is a
  // broken host: a key or token id must never be predictable.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes) != 1) {
    std::abort();
  }
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

}  // namespace paxosfs::tls
