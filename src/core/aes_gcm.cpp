#include "core/aes_gcm.hpp"

#include "core/assert.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace posthorn::crypto {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// EVP takes int lengths; feed long inputs in slices so no length is ever truncated.
constexpr std::size_t kSlice = std::size_t{1} << 30;

bool iv_length_ok(ByteView iv) noexcept {
  return !iv.empty() && iv.size() <= kGcmMaxIvSize;
}

// Cipher, then IV length, then key and IV: OpenSSL only honours EVP_CTRL_GCM_SET_IVLEN between the
// first init (which picks the cipher) and the one that sets the IV.
CipherCtx init(const Aes256Key& key, ByteView iv, bool encrypt) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  POSTHORN_ASSERT(ctx != nullptr, "EVP_CIPHER_CTX_new");
  const auto init_fn = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex;
  if (init_fn(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1) return nullptr;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()),
                          nullptr) != 1)
    return nullptr;
  if (init_fn(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1) return nullptr;
  return ctx;
}

bool feed_aad(EVP_CIPHER_CTX* ctx, ByteView aad, bool encrypt) {
  const auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  for (std::size_t off = 0; off < aad.size(); off += kSlice) {
    const auto n = static_cast<int>(std::min(kSlice, aad.size() - off));
    int out_len = 0;
    if (update(ctx, nullptr, &out_len, aad.data() + off, n) != 1) return false;
  }
  return true;
}

// GCM is a stream mode: every update writes exactly as many bytes as it reads.
bool transform(EVP_CIPHER_CTX* ctx, ByteView in, std::uint8_t* out, bool encrypt) {
  const auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  for (std::size_t off = 0; off < in.size(); off += kSlice) {
    const auto n = static_cast<int>(std::min(kSlice, in.size() - off));
    int out_len = 0;
    if (update(ctx, out + off, &out_len, in.data() + off, n) != 1 || out_len != n) return false;
  }
  return true;
}

} // namespace

Bytes aes256_gcm_encrypt(const Aes256Key& key, ByteView iv, ByteView plaintext, ByteView aad) {
  POSTHORN_ASSERT(iv_length_ok(iv), "AES-GCM IV must be 1..128 bytes");
  CipherCtx ctx = init(key, iv, true);
  POSTHORN_ASSERT(ctx != nullptr, "AES-256-GCM encrypt init");
  Bytes out(plaintext.size() + kGcmTagSize);
  POSTHORN_ASSERT(feed_aad(ctx.get(), aad, true), "AES-GCM AAD");
  POSTHORN_ASSERT(transform(ctx.get(), plaintext, out.data(), true), "AES-GCM encrypt");
  int final_len = 0;
  POSTHORN_ASSERT(EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &final_len) == 1 &&
                      final_len == 0,
                  "AES-GCM final");
  POSTHORN_ASSERT(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                                      static_cast<int>(kGcmTagSize),
                                      out.data() + plaintext.size()) == 1,
                  "AES-GCM tag");
  return out;
}

std::optional<Bytes> aes256_gcm_decrypt(const Aes256Key& key, ByteView iv,
                                        ByteView ciphertext_and_tag, ByteView aad) {
  if (!iv_length_ok(iv) || ciphertext_and_tag.size() < kGcmTagSize) return std::nullopt;
  const std::size_t ct_len = ciphertext_and_tag.size() - kGcmTagSize;
  CipherCtx ctx = init(key, iv, false);
  if (!ctx) return std::nullopt;
  Bytes out(ct_len);
  if (!feed_aad(ctx.get(), aad, false)) return std::nullopt;
  if (!transform(ctx.get(), ciphertext_and_tag.first(ct_len), out.data(), false))
    return std::nullopt;
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but only reads it.
  Bytes tag(ciphertext_and_tag.begin() + static_cast<std::ptrdiff_t>(ct_len),
            ciphertext_and_tag.end());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize),
                          tag.data()) != 1)
    return std::nullopt;
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + ct_len, &final_len) != 1) return std::nullopt;
  return out;
}

} // namespace posthorn::crypto
