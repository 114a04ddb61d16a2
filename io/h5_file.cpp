// h5::File: create (with a disk-space reserve), open, verify, close and discard HDF5 files.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <vector>

#include "common/error.h"
#include "io/content_hash.h"
#include "io/h5_util.h"

namespace triseg::io::h5 {
namespace {

using detail::detail_of;
using detail::track_order;

/// Metadata cache of a created file: at most this many bytes can be dirty at close, which
/// File::kReserveBytes must cover.
constexpr size_t kMetadataCacheBytes = size_t{1} << 20;
constexpr size_t kMetadataCacheMinBytes = size_t{1} << 18;

/// Failed close: the HDF5 identifier must not be closed again (see File).
void forget(hid_t& id) {
    id = -1;
}

// -- metadata digest ----------------------------------------------------------------------------

/// Root attribute holding metadata_digest() of a file written by File.
constexpr const char* kDigestAttribute = "metadata_sha256";

struct DigestState {
    std::string bytes; ///< what is hashed
    std::string path;  ///< the object being visited
    bool failed = false;
    bool out_of_memory = false; ///< an allocation of ours failed inside a callback
};

/// Marks the visit failed; out of memory too when the HDF5 call that just failed ran out of it
/// (the innermost H5Silence saw H5E_NOSPACE; HDF5's visit itself reports only "iteration
/// failed" afterwards).
void note_failure(DigestState* state) {
    state->failed = true;
    const H5Silence* silence = H5Silence::current();
    if (silence != nullptr && silence->out_of_memory() && !silence->no_space()) {
        state->out_of_memory = true;
    }
}

void append_field(std::string& out, const std::string& field) {
    out += std::to_string(field.size()) + ":" + field;
}

/// Appends the values of attribute or dataset `id` (reader `read`) to `out`: variable-length
/// strings as text, everything else as the bytes stored in the file (its own file type).
template <typename Read> bool append_values(std::string& out, hid_t type, hid_t space, Read read) {
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n < 0) {
        return false;
    }
    out += std::to_string(H5Tget_class(type)) + "#" + std::to_string(n) + ";";
    if (H5Tis_variable_str(type) > 0) {
        std::vector<char*> values(static_cast<size_t>(n), nullptr);
        const hid_t mem = H5Tcopy(type); // the file's own string type: same charset
        const bool ok = n == 0 || read(mem, values.data()) >= 0;
        for (char* v : values) {
            append_field(out, v == nullptr ? std::string() : std::string(v));
        }
        if (ok && n > 0) {
            H5Dvlen_reclaim(mem, space, H5P_DEFAULT, values.data());
        }
        H5Tclose(mem);
        return ok;
    }
    std::string raw(static_cast<size_t>(n) * H5Tget_size(type), '\0');
    const bool ok = raw.empty() || read(type, raw.data()) >= 0;
    append_field(out, raw);
    return ok;
}

herr_t digest_attribute(hid_t loc, const char* name, const H5A_info_t*, void* data) {
    auto* state = static_cast<DigestState*>(data);
    if (state->path == "." && std::strcmp(name, kDigestAttribute) == 0) {
        return 0;
    }
    const hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0) {
        note_failure(state);
        return -1;
    }
    const hid_t type = H5Aget_type(attr);
    const hid_t space = H5Aget_space(attr);
    append_field(state->bytes, state->path + "@" + name);
    const bool ok = type >= 0 && space >= 0 &&
                    append_values(state->bytes, type, space,
                                  [&](hid_t mem, void* buf) { return H5Aread(attr, mem, buf); });
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(attr);
    if (!ok) {
        note_failure(state);
    }
    return ok ? 0 : -1;
}

/// Attributes of the object `name` under `loc`, and its values when it is a string dataset.
herr_t digest_object_of(hid_t loc, const char* name, const H5O_info_t* info, void* data) {
    auto* state = static_cast<DigestState*>(data);
    state->path = name;
    const hid_t obj = H5Oopen(loc, name, H5P_DEFAULT);
    if (obj < 0) {
        note_failure(state);
        return -1;
    }
    hsize_t at = 0;
    herr_t rc = H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &at, digest_attribute, state);
    if (rc >= 0 && info->type == H5O_TYPE_DATASET) {
        const hid_t type = H5Dget_type(obj);
        if (type >= 0 && H5Tget_class(type) == H5T_STRING) {
            const hid_t space = H5Dget_space(obj);
            append_field(state->bytes, std::string(name) + "=");
            const bool ok =
                space >= 0 && append_values(state->bytes, type, space, [&](hid_t mem, void* buf) {
                    return H5Dread(obj, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
                });
            H5Sclose(space);
            rc = ok ? 0 : -1;
        }
        H5Tclose(type);
    }
    H5Oclose(obj);
    if (rc < 0 && !state->failed) {
        note_failure(state);
    }
    return rc < 0 ? -1 : 0;
}

/// digest_object_of, with no C++ exception crossing HDF5's C frames: a failed allocation of ours
/// (the hashed bytes grow) stops the visit and is remembered.
herr_t digest_object(hid_t loc, const char* name, const H5O_info_t* info, void* data) {
    try {
        return digest_object_of(loc, name, info, data);
    } catch (const std::bad_alloc&) {
        auto* state = static_cast<DigestState*>(data);
        state->failed = true;
        state->out_of_memory = true;
        return -1;
    }
}

/// SHA-256 over every attribute (but the digest itself) and every string dataset of the file,
/// in name order: the parts of a file that HDF5's Fletcher32 filter cannot cover (attributes
/// and variable-length strings live in object headers and the global heap). Empty when HDF5
/// fails to read them. @throws std::bad_alloc when memory ran out on the way (ours or HDF5's),
/// so that a machine short of memory is not told the file is damaged.
std::string metadata_digest(hid_t file) {
    DigestState state;
    const H5Silence silence;
    if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, digest_object, &state, H5O_INFO_BASIC) < 0 ||
        state.failed) {
        if (state.out_of_memory || (silence.out_of_memory() && !silence.no_space())) {
            throw std::bad_alloc();
        }
        return {};
    }
    return sha256_hex(state.bytes);
}

} // namespace

void reseal_metadata(const std::string& path) {
    try {
        H5::H5File file(path, H5F_ACC_RDWR);
        Node root{file.openGroup("/"), "/", "'" + path + "'", {}};
        if (root.group.attrExists(kDigestAttribute)) {
            root.group.removeAttr(kDigestAttribute);
        }
        const std::string digest = metadata_digest(file.getId());
        TRISEG_CHECK(!digest.empty(), IoError,
                     "cannot read back the attributes of '" << path << "'");
        write_string_attribute(root, kDigestAttribute, digest);
    } catch (const H5::Exception& e) {
        TRISEG_THROW(IoError, "cannot reseal '" << path << "': " << e.getDetailMsg());
    }
}

File::File(hid_t id, Node root, Access access, int reserve_fd)
    : id_(id), root_(std::move(root)), access_(access), reserve_fd_(reserve_fd) {}

File::File(File&& other) noexcept
    : id_(other.id_), root_(std::move(other.root_)), access_(other.access_),
      reserve_fd_(other.reserve_fd_) {
    other.id_ = -1;
    other.reserve_fd_ = -1;
}

File::~File() {
    discard();
}

File File::create(const std::string& path, const std::string& file, const std::string& folder_in) {
    // The reserve: an unnamed file in the target folder (a named one, unlinked at once, where
    // O_TMPFILE is not supported), so nothing is left behind even after a kill.
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    const std::string folder = !folder_in.empty() ? folder_in
                               : parent.empty()   ? "."
                                                  : parent.string();
    int fd = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        std::string name = folder + "/.reserve.XXXXXX";
        fd = ::mkstemp(name.data());
        if (fd >= 0) {
            ::unlink(name.c_str());
        }
    }
    TRISEG_CHECK(fd >= 0, IoError, "cannot write " << file << ": " << write_error_text(errno));
    const int err = ::posix_fallocate(fd, 0, kReserveBytes);
    if (err != 0) {
        ::close(fd);
        TRISEG_THROW(IoError,
                     "cannot write "
                         << file << ": " << write_error_text(err)
                         << (err == ENOSPC || err == EDQUOT ? " (free some space and rerun)" : ""));
    }
    hid_t id = -1;
    try {
        H5::FileCreatPropList fcpl;
        track_order(fcpl.getId());
        H5::FileAccPropList fapl;
        H5AC_cache_config_t cache;
        cache.version = H5AC__CURR_CACHE_CONFIG_VERSION;
        if (H5Pget_mdc_config(fapl.getId(), &cache) < 0) {
            throw H5::PropListIException("File::create", "H5Pget_mdc_config failed");
        }
        cache.set_initial_size = true;
        cache.initial_size = kMetadataCacheBytes;
        cache.max_size = kMetadataCacheBytes;
        cache.min_size = kMetadataCacheMinBytes;
        // No raw-data caches (sieve buffer, chunk cache): every byte of a dataset reaches the
        // disk inside H5Dwrite, which reports a full disk and leaves the dataset closable. A
        // dataset holding dirty cached data fails its H5Dclose on a full disk, and HDF5 1.10
        // then keeps its identifier over freed memory (a later close or exit crashes).
        if (H5Pset_mdc_config(fapl.getId(), &cache) < 0 ||
            H5Pset_sieve_buf_size(fapl.getId(), 0) < 0 ||
            H5Pset_cache(fapl.getId(), 0, 0, 0, 1.0) < 0 ||
            H5Pset_fclose_degree(fapl.getId(), H5F_CLOSE_STRONG) < 0) {
            throw H5::PropListIException("File::create", "H5Pset_mdc_config failed");
        }
        id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.getId(), fapl.getId());
        if (id < 0) {
            throw H5::FileIException("H5Fcreate", "cannot create the file");
        }
        const hid_t root = H5Gopen2(id, "/", H5P_DEFAULT);
        if (root < 0) {
            throw H5::FileIException("H5Gopen2", "cannot open the root group");
        }
        Node node{H5::Group(root), "/", file, ""};
        H5Gclose(root);
        return File(id, std::move(node), Access::Write, fd);
    } catch (const H5::Exception& e) {
        if (id >= 0) {
            H5Fclose(id);
        }
        ::close(fd);
        rethrow(e, Access::Write, file, "");
    }
}

File File::open(const std::string& path, const std::string& file, const std::string& remedy) {
    std::error_code ec;
    TRISEG_CHECK(!std::filesystem::is_directory(path, ec), IoError,
                 "cannot read " << file << ": it is a folder");
    {
        errno = 0;
        const std::ifstream probe(path, std::ios::binary);
        TRISEG_CHECK(probe.good(), IoError,
                     "cannot read " << file << ": "
                                    << (errno ? std::strerror(errno) : "open failed"));
    }
    bool is_hdf5 = false;
    try {
        is_hdf5 = H5::H5File::isHdf5(path);
    } catch (const H5::Exception& e) {
        TRISEG_THROW(IoError, "cannot read " << file << ": " << detail_of(e));
    }
    TRISEG_CHECK(is_hdf5, InputError, file << " is not an HDF5 file");
    const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    try {
        if (id < 0) {
            throw H5::FileIException("H5Fopen", "cannot open the file");
        }
        const hid_t root = H5Gopen2(id, "/", H5P_DEFAULT);
        if (root < 0) {
            throw H5::FileIException("H5Gopen2", "cannot open the root group");
        }
        Node node{H5::Group(root), "/", file, remedy};
        H5Gclose(root);
        return File(id, std::move(node), Access::Read, -1);
    } catch (const H5::Exception& e) {
        if (id >= 0) {
            H5Fclose(id);
        }
        rethrow(e, Access::Read, file, "", remedy);
    }
}

bool File::close_objects() noexcept {
    bool ok = true;
    const unsigned types =
        H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL;
    const ssize_t count = H5Fget_obj_count(id_, types);
    if (count < 0) {
        return false;
    }
    std::vector<hid_t> ids(static_cast<size_t>(count));
    const ssize_t got = count > 0 ? H5Fget_obj_ids(id_, types, ids.size(), ids.data()) : 0;
    ids.resize(static_cast<size_t>(std::max<ssize_t>(got, 0)));
    for (const hid_t obj : ids) {
        // Each reference held (C++ handles add some) is dropped; a chunked dataset flushes its
        // chunk cache here, and a failure here leaves the file closable.
        while (H5Iis_valid(obj) > 0) {
            const herr_t rc = H5Iget_type(obj) == H5I_ATTR ? H5Aclose(obj) : H5Oclose(obj);
            if (rc < 0) {
                ok = false;
                break;
            }
        }
    }
    return ok && got == count;
}

void File::release_reserve() noexcept {
    if (reserve_fd_ >= 0) {
        ::close(reserve_fd_);
        reserve_fd_ = -1;
    }
}

void File::verify_metadata() const {
    const Node& root = root_;
    // Without the digest a file could be edited at will (attributes, strings) and read as
    // "legacy": every file triseg writes has one.
    TRISEG_CHECK(has_attribute(root, kDigestAttribute), InputError,
                 root.file << " has no checksum of its attributes (root attribute '"
                           << kDigestAttribute
                           << "'): it was written by a triseg before checksums, or edited by "
                              "another tool"
                           << (root.remedy.empty() ? "" : "; " + root.remedy));
    const std::string stored = read_string_attribute(root, kDigestAttribute);
    const std::string actual = metadata_digest(id_);
    TRISEG_CHECK(!actual.empty() && actual == stored, InputError,
                 root.file << " is damaged (checksum mismatch in its attributes or strings, root "
                           << "attribute '" << kDigestAttribute << "')"
                           << (root.remedy.empty() ? "" : "; " + root.remedy));
}

void File::close() {
    if (id_ < 0) {
        return;
    }
    if (access_ == Access::Read) {
        verify_metadata();
    } else {
        const std::string digest = metadata_digest(id_);
        TRISEG_CHECK(!digest.empty(), IoError,
                     "cannot write " << root_.file << ": HDF5 cannot read back its attributes");
        write_string_attribute(root_, kDigestAttribute, digest);
    }
    const bool objects_closed = close_objects();
    release_reserve();
    if (!objects_closed) {
        const bool no_space = H5Silence::current() != nullptr && H5Silence::current()->no_space();
        discard();
        TRISEG_CHECK(access_ != Access::Write || !no_space, IoError,
                     "cannot write " << root_.file << ": " << write_error_text(ENOSPC)
                                     << " (free some space and rerun)");
        TRISEG_THROW(IoError, "cannot close " << root_.file << ": HDF5 failed to close "
                                              << "its datasets");
    }
    const herr_t rc = H5Fclose(id_);
    forget(id_);
    if (rc < 0) {
        try {
            throw H5::FileIException("H5Fclose", "cannot close the file");
        } catch (const H5::Exception& e) {
            rethrow(e, access_, root_.file, "", root_.remedy);
        }
    }
}

void File::discard() noexcept {
    if (id_ >= 0) {
        const H5Silence silence;
        close_objects();
        release_reserve();
        H5Fclose(id_);
        forget(id_);
    }
    release_reserve();
}

} // namespace triseg::io::h5
