// SHA-256 through OpenSSL's EVP interface: a well-kept implementation instead of our own.
#include "io/content_hash.h"

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/error.h"

namespace triseg::io {

namespace {

struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

MdCtx new_sha256() {
    MdCtx ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
        throw Error("OpenSSL could not start a SHA-256 digest", ExitCode::Internal);
    }
    return ctx;
}

std::string finish_hex(EVP_MD_CTX* ctx) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx, md.data(), &len) != 1) {
        throw Error("OpenSSL could not finish a SHA-256 digest", ExitCode::Internal);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(kHex[md[i] >> 4]);
        out.push_back(kHex[md[i] & 0xf]);
    }
    return out;
}

} // namespace

std::string sha256_hex(const void* data, std::size_t size) {
    auto ctx = new_sha256();
    if (EVP_DigestUpdate(ctx.get(), data, size) != 1) {
        throw Error("OpenSSL could not hash the data", ExitCode::Internal);
    }
    return finish_hex(ctx.get());
}

std::string sha256_file(const std::string& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    TRISEG_CHECK(f != nullptr, IoError,
                 "cannot open " << path << " to hash it: " << std::strerror(errno));
    auto ctx = new_sha256();
    std::array<char, 1 << 16> block{};
    while (true) {
        const std::size_t n = std::fread(block.data(), 1, block.size(), f.get());
        if (n > 0 && EVP_DigestUpdate(ctx.get(), block.data(), n) != 1) {
            throw Error("OpenSSL could not hash " + path, ExitCode::Internal);
        }
        if (n < block.size()) {
            TRISEG_CHECK(!std::ferror(f.get()), IoError,
                         "cannot read " << path << " to hash it: " << std::strerror(errno));
            break;
        }
    }
    return finish_hex(ctx.get());
}

} // namespace triseg::io
