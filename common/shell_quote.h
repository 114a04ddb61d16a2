// Quoting words of a command that a message suggests, so that a pasted command runs only that.
#pragma once

#include <string>

namespace triseg {

/// `word` as one POSIX shell word: unchanged when it is non-empty and every character is in
/// [A-Za-z0-9_./+=:,@%-] (plain paths stay readable), else in single quotes, each ' written
/// as '\'' ("a b" -> 'a b', "it's" -> 'it'\''s', "" -> ''). Nothing inside single quotes is
/// expanded by sh, bash or zsh: no $(...), `...`, ;, globs or newlines act.
std::string shell_quote(const std::string& word);

} // namespace triseg
