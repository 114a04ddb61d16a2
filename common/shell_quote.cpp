// shell_quote.
#include "common/shell_quote.h"

namespace triseg {

namespace {
bool plain(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string("_./+=:,@%-").find(c) != std::string::npos;
}
} // namespace

std::string shell_quote(const std::string& word) {
    bool safe = !word.empty();
    for (const char c : word) {
        safe = safe && plain(c);
    }
    if (safe) {
        return word;
    }
    std::string out = "'";
    for (const char c : word) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

} // namespace triseg
