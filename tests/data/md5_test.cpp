// MD5 against the RFC 1321 appendix A.5 test suite, and incremental updates across block boundaries.
#include <gtest/gtest.h>

#include <string>

#include "data/md5.h"

namespace keel::data::detail {
namespace {

std::string md5_of(const std::string& s) { return md5_hex(s.data(), s.size()); }

TEST(Md5, Rfc1321TestSuite) {
  EXPECT_EQ(md5_of(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_of("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5_of("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_of("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5_of("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5_of("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5, PaddingEdgeLengths) {
  // 55, 56 and 64 bytes: the length field fits in the last block, just does not, and a whole block.
  // python3 -c "import hashlib; [print(hashlib.md5(b'a'*n).hexdigest()) for n in (55, 56, 64)]"
  EXPECT_EQ(md5_of(std::string(55, 'a')), "ef1772b6dff9a122358552954ad0df65");
  EXPECT_EQ(md5_of(std::string(56, 'a')), "3b0c8ac703f828b04c6c197006d17218");
  EXPECT_EQ(md5_of(std::string(64, 'a')), "014842d480b571495a4a0363793f7367");
}

TEST(Md5, IncrementalUpdatesMatchOneShot) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>((i * 37 + 11) % 256);
  for (size_t chunk : {1u, 3u, 63u, 64u, 65u, 200u}) {
    Md5 md5;
    for (size_t at = 0; at < text.size(); at += chunk) md5.update(text.data() + at, std::min(chunk, text.size() - at));
    EXPECT_EQ(md5.hex_digest(), md5_of(text)) << "chunk " << chunk;
  }
}

}  // namespace
}  // namespace keel::data::detail
