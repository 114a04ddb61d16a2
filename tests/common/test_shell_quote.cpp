// shell_quote: plain paths stay as they are; every other word reaches a real shell as exactly
// itself, with nothing in it run.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/shell_quote.h"

namespace triseg {
namespace {

/// What `sh -c "printf %s WORD"` prints for `quoted` pasted in place of WORD.
std::string through_sh(const std::string& quoted) {
    const std::string line = "printf %s " + quoted;
    std::string cmd = "sh -c " + shell_quote(line);
    FILE* p = popen(cmd.c_str(), "r");
    EXPECT_NE(p, nullptr);
    std::string out;
    char buf[256];
    size_t n = 0;
    while (p != nullptr && (n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        out.append(buf, n);
    }
    if (p != nullptr) {
        pclose(p);
    }
    return out;
}

TEST(ShellQuote, PlainPathsStayReadable) {
    for (const char* w : {"runs/fmnist-vgg16", "/tmp/a_b.c/x+y=z:1,2@host%3", "-r", "a"}) {
        EXPECT_EQ(shell_quote(w), w);
    }
}

TEST(ShellQuote, OtherWordsAreSingleQuoted) {
    EXPECT_EQ(shell_quote(""), "''");
    EXPECT_EQ(shell_quote("my runs"), "'my runs'");
    EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(shell_quote("a;b"), "'a;b'");
    EXPECT_EQ(shell_quote("~/x"), "'~/x'");
}

TEST(ShellQuote, ASpaceAQuoteASubstitutionASemicolonAndANewlineReachTheShellAsThemselves) {
    const std::filesystem::path victim =
        std::filesystem::temp_directory_path() / "triseg-shell-quote-victim";
    std::filesystem::remove(victim);
    const std::string touch = "touch " + victim.string();
    const std::vector<std::string> words = {"run dir",
                                            "it's",
                                            "$(" + touch + ")",
                                            "`" + touch + "`",
                                            "a; " + touch,
                                            "a\n" + touch,
                                            "a && b | c",
                                            "'",
                                            "''\\'",
                                            "*",
                                            "$HOME",
                                            "a\"b",
                                            "",
                                            "x' ; " + touch + " ; '"};
    for (const auto& w : words) {
        EXPECT_EQ(through_sh(shell_quote(w)), w) << shell_quote(w);
    }
    EXPECT_FALSE(std::filesystem::exists(victim)) << "a quoted word ran a command";
}

} // namespace
} // namespace triseg
