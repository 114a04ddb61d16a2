// Opening files and folders in a run folder that others may write into: never through a link.
#pragma once

#include <string>

namespace triseg::io {

/// Opens `path` for writing (O_WRONLY or O_RDWR in `flags`, O_CREAT allowed) without following
/// a symbolic link at its last component (O_NOFOLLOW | O_CLOEXEC are added) and without
/// truncating: a caller that wants an empty file calls ftruncate after this returns. The file
/// must be a regular file with one link, so that neither a symbolic link nor a hard link
/// planted at a name triseg writes can make it change a file elsewhere. `what` names the file
/// in messages ("history file", "lock file").
/// @throws IoError (exit 4) naming the path: a link ("is a symbolic link ... remove it"), not a
/// regular file, several hard links, or the system error.
int open_for_writing(const std::string& path, int flags, const std::string& what);

/// Creates `dir` and its parents when missing, like ensure_directory, and refuses a `dir` that
/// is a symbolic link (lstat): a stage folder planted as a link would make triseg write or
/// delete in the link's target. Links in the folders above `dir` are the user's own choice
/// (e.g. a run folder on a scratch file system) and are followed.
/// @throws IoError naming `dir`.
void ensure_real_directory(const std::string& dir);

/// Throws IoError when `path` exists and is a symbolic link; `what` names it.
void refuse_link(const std::string& path, const std::string& what);

} // namespace triseg::io
