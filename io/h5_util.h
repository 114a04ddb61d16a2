// HDF5 helpers shared by io/h5_*.cpp: files, groups, typed datasets and attributes with shape and
// element-type checks, and HDF5 failures translated into triseg errors. io-internal: it includes
// H5Cpp.h, so headers that other folders include must not include it.
#pragma once

#include <H5Cpp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace triseg::io::h5 {

/// Shape of a dataset or attribute, outermost dimension first (C order); {} is a scalar.
using Dims = std::vector<hsize_t>;

/// numpy-style name of an HDF5 type: "int8", "uint32", "float32", "string", "compound", ...
std::string type_name(const H5::DataType& type);

/// "[2, 3, 3, 3]"; "[]" for a scalar.
std::string shape_string(const Dims& dims);

/// The dimensions of `space` ({} for a scalar).
Dims shape(const H5::DataSpace& space);

/// Number of elements of an array of shape `dims` (1 for a scalar).
hsize_t num_elements(const Dims& dims);

// -- errors -------------------------------------------------------------------------------------

/// While alive, HDF5 prints nothing when a call fails (like H5::Exception::dontPrint()), and the
/// innermost message of the last failure is kept for rethrow(), with whether the failure was a
/// full disk (ENOSPC) or a checksum mismatch (Fletcher32). The previous handler is restored on
/// destruction. Instances nest (the innermost one records); one thread only. (HDF5's own
/// printing is also switched off once at startup, so failures outside any H5Silence are quiet.)
class H5Silence {
public:
    H5Silence();
    ~H5Silence();
    H5Silence(const H5Silence&) = delete;
    H5Silence& operator=(const H5Silence&) = delete;

    /// "<C++ API function>: <detail> (<innermost HDF5 message>)".
    std::string describe(const H5::Exception& e) const;

    /// The last failure was a write refused for lack of space (errno ENOSPC or EDQUOT).
    bool no_space() const { return no_space_; }

    /// The last failure was a filter's checksum mismatch (data damaged on disk).
    bool checksum_mismatch() const { return checksum_; }

    /// The last failure was HDF5 running out of memory (a chunk buffer, say), not the file.
    bool out_of_memory() const { return out_of_memory_; }

    /// The innermost live H5Silence of this thread, or null.
    static const H5Silence* current();

private:
    static herr_t record(hid_t stack, void* self);

    H5E_auto2_t old_func_ = nullptr;
    void* old_data_ = nullptr;
    const H5Silence* outer_ = nullptr;
    std::string innermost_;
    bool no_space_ = false;
    bool checksum_ = false;
    bool out_of_memory_ = false;
};

namespace detail {
/// What HDF5 says about `e`, with the innermost message when an H5Silence is alive.
std::string detail_of(const H5::Exception& e);
/// Turns off modification times on an object (file, group or dataset) creation list, so that
/// the same content always gives the same bytes. Returns false when HDF5 refuses.
bool no_times(hid_t object_create_plist);
/// Link and attribute creation order tracked and indexed on a file or group creation list.
/// Throws H5::Exception.
void track_order(hid_t create_plist);
} // namespace detail

/// What failed: reading an existing file (its content is corrupt or unexpected) or writing one
/// (the file system refused).
enum class Access { Read, Write };

/// Throws the triseg error for the HDF5 failure `e` on `object` of `file`:
///     Read:  InputError "<file>: cannot read <object> (corrupt file?): <HDF5 message>", or
///            "<file> is damaged (checksum mismatch in <object>); <remedy>" for a Fletcher32
///            mismatch
///     Write: IoError    "<file>: cannot write <object>: <HDF5 message>", or
///            "cannot write <file>: no space left on device" when the disk is full
/// or "cannot read <file> ..." / "cannot write <file>: ..." when `object` is empty.
/// `file` names the file for users ("int8 model '/runs/m.h5'"), `object` the HDF5 object
/// ("dataset '/layers/conv1_1/weight'"), `remedy` how to get a good file again ("re-create it
/// with `triseg export-int8`"). The HDF5 message is H5Silence::current()->describe(e) when an
/// H5Silence is alive.
[[noreturn]] void rethrow(const H5::Exception& e,
                          Access access,
                          const std::string& file,
                          const std::string& object,
                          const std::string& remedy = {});

/// The message for a write that failed with `err` (an errno value): "no space left on device"
/// (also for a full quota), else strerror(err).
std::string write_error_text(int err);

// -- files and groups ---------------------------------------------------------------------------

/// An open group with its absolute path and the name of its file, for messages. Every helper
/// below names objects by absolute path and starts InputError messages with `file + ": "`.
struct Node {
    H5::Group group;
    std::string path;   ///< absolute; "/" for the root group
    std::string file;   ///< how messages name the file: "int8 model '/runs/m.h5'"
    std::string remedy; ///< what to do when the file is damaged: "re-create it with ..."

    /// Absolute path of the child `name`.
    std::string child(const std::string& name) const;
};

/// An open HDF5 file and its root group.
///
/// Writing is made safe against a full disk: HDF5 (1.10) cannot survive a failed H5Fclose (the
/// file's identifier stays registered over freed memory, so a second close, the C++
/// destructor or the library's exit handler crashes). So create() sets aside a small reserve
/// of disk space (kReserveBytes, an unnamed file in the same folder) and bounds HDF5's metadata
/// cache below it; before H5Fclose, every object of the file is closed (the failures there are
/// recoverable) and the reserve is released, so that the final flush has room. A failed write
/// surfaces as IoError "cannot write <file>: no space left on device" from the failing call,
/// the destructor then discards the file quietly, and the caller's AtomicPath removes it.
class File {
public:
    /// Disk space set aside while a created file is open (released before it is closed).
    static constexpr long kReserveBytes = 2L << 20;

    /// Creates (or truncates) `path`, with link and attribute creation order tracked, so h5py
    /// and `h5dump --sort_by=creation_order` list objects in the order they were written.
    /// `file` names it in messages; `folder` is where the disk-space reserve goes (default:
    /// the folder of `path`; give it when `path` is an AtomicPath's /proc/self/fd name).
    /// @throws IoError "cannot write <file>: ..." on failure (among others when less than
    /// kReserveBytes are free).
    static File
    create(const std::string& path, const std::string& file, const std::string& folder = {});

    /// Opens `path` read-only; `file` names it in messages, `remedy` says what to do when it
    /// is damaged ("re-create it with `triseg export-int8`").
    /// @throws IoError when `path` is missing, a folder or unreadable.
    /// @throws InputError "<file> is not an HDF5 file" when it is not HDF5.
    static File
    open(const std::string& path, const std::string& file, const std::string& remedy = {});

    File(File&& other) noexcept;
    File& operator=(File&&) = delete;
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    /// Discards a file that was not closed (see discard()).
    ~File();

    const Node& root() const { return root_; }

    /// Closes the file, flushing a created one, after writing the root attribute
    /// `metadata_sha256`: a SHA-256 over every other attribute and every string dataset, the
    /// parts of the file that Fletcher32 cannot cover; close() of an opened file verifies it
    /// (a file without it, written by an older triseg or edited by hand, is refused). Objects
    /// still open in it are closed first (their C++ handles become invalid and must not be used
    /// again).
    /// @throws IoError (created) or InputError (opened) on failure; the file is then closed
    /// as discard() does.
    void close();

    /// Checks the root attribute `metadata_sha256` (written by close()), which must be present;
    /// close()
    /// of an opened file calls it, so a reader checks the schema first (precise messages for
    /// structural damage) and the digest last (any changed value).
    /// @throws InputError "<file> is damaged (checksum mismatch ...)".
    void verify_metadata() const;

    /// Closes the file without reporting errors (the error path: the caller throws already
    /// and removes the file). Never throws, never prints; idempotent.
    void discard() noexcept;

private:
    File(hid_t id, Node root, Access access, int reserve_fd);

    /// Closes every object of the file but the file itself; true when all closed cleanly.
    bool close_objects() noexcept;
    void release_reserve() noexcept;

    hid_t id_ = -1;
    Node root_;
    Access access_;
    int reserve_fd_ = -1;
};

/// Recomputes the root attribute `metadata_sha256` of the existing file `path` after an edit
/// made on purpose (tests that tamper with a file, as an attacker who recomputes it would).
/// That anyone can do this is why the checksums are no signature (docs/files.md).
/// @throws IoError when the file cannot be opened for writing.
void reseal_metadata(const std::string& path);

/// Creates group `name` under `parent`, with creation order tracked. @throws IoError.
Node create_group(const Node& parent, const std::string& name);

/// Opens the existing group `name`. @throws InputError "missing group '<path>'" or
/// "'<path>' is not a group".
Node open_group(const Node& parent, const std::string& name);

/// Whether `parent` has a link (group, dataset, ...) called `name`.
bool has_link(const Node& parent, const std::string& name);

/// Throws InputError "<file>: <object> has no checksum ..." unless the dataset `ds` carries the
/// Fletcher32 filter, as every non-empty dataset triseg writes does (a virtual dataset, whose
/// rows live in other files that are checked themselves, an empty one and a scalar one, which
/// HDF5 cannot chunk, pass; triseg's files hold no scalar datasets). Without this
/// check, rewriting a dataset without the filter would turn its checksum off unnoticed.
void require_checksum(const Node& parent, const std::string& object, const H5::DataSet& ds);

/// Number of links (groups, datasets, ...) in `node`. @throws InputError.
hsize_t num_links(const Node& node);

// -- datasets -----------------------------------------------------------------------------------
// T is one of int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, float,
// double. Files hold the fixed-width little-endian type (int8 -> STD_I8LE, float -> IEEE_F32LE);
// readers accept either byte order but exactly the element type of T.

/// Writes `data` (C order, num_elements(dims) values) as dataset `name` of shape `dims`,
/// uncompressed, with a Fletcher32 checksum per chunk that HDF5 verifies on every read
/// (chunks of whole rows, at most kChunkBytes (or one row) each, as few as possible and split
/// evenly; a scalar or empty dataset is contiguous,
/// without checksum). @throws std::invalid_argument when the size is wrong; IoError when
/// HDF5 fails.
inline constexpr hsize_t kChunkBytes = hsize_t{1} << 20;

/// The creation property list of a chunked, Fletcher32-checked dataset of `dims` with elements
/// of `elem_bytes` (chunks of whole rows, at most kChunkBytes). Throws H5::Exception.
H5::DSetCreatPropList checked_layout(const Dims& dims, size_t elem_bytes);

template <typename T>
void write_dataset(const Node& parent,
                   const std::string& name,
                   const Dims& dims,
                   const std::vector<T>& data);

/// Reads dataset `name`, which must have the element type of T and exactly shape `dims`.
/// @throws InputError naming the dataset when it is missing, or its type or shape differ
///         ("dataset '/a/b' has type float32, expected int32"), or HDF5 cannot read it.
template <typename T>
std::vector<T> read_dataset(const Node& parent, const std::string& name, const Dims& dims);

/// Writes a 1-D dataset of variable-length UTF-8 strings. @throws IoError.
void write_string_dataset(const Node& parent,
                          const std::string& name,
                          const std::vector<std::string>& values);

/// Reads a 1-D string dataset (variable- or fixed-length; h5py writes either) of n strings,
/// min_size <= n <= max_size. @throws InputError.
std::vector<std::string> read_string_dataset(const Node& parent,
                                             const std::string& name,
                                             hsize_t min_size,
                                             hsize_t max_size);

// -- attributes ---------------------------------------------------------------------------------
// Scalar readers accept a scalar or a one-element attribute.

/// Whether `node` has the attribute `name`.
bool has_attribute(const Node& node, const std::string& name);

/// Writes a scalar attribute of T's file type. @throws IoError.
template <typename T> void write_attribute(const Node& node, const std::string& name, T value);

/// Writes a 1-D attribute of T's file type. @throws IoError.
template <typename T>
void write_attribute(const Node& node, const std::string& name, const std::vector<T>& values);

/// Writes a scalar variable-length UTF-8 string attribute. @throws IoError.
void write_string_attribute(const Node& node, const std::string& name, const std::string& value);

/// Reads an attribute with the element type of T and exactly shape `dims`. @throws InputError.
template <typename T>
std::vector<T> read_attribute(const Node& node, const std::string& name, const Dims& dims);

/// A scalar string attribute (variable- or fixed-length). @throws InputError.
std::string read_string_attribute(const Node& node, const std::string& name);

/// A scalar attribute of any integer type with a value in [lo, hi]. @throws InputError.
int64_t read_int_attribute(const Node& node, const std::string& name, int64_t lo, int64_t hi);

/// A scalar attribute of any float type. @throws InputError.
double read_float_attribute(const Node& node, const std::string& name);

/// A scalar float32 attribute; float64 is accepted when it holds a float32 value exactly (h5py
/// writes Python floats as float64), so values used in float32 arithmetic are never rounded.
/// @throws InputError.
float read_float32_attribute(const Node& node, const std::string& name);

/// A 1-D attribute of `size` float32 values, with the float64 rule of read_float32_attribute.
/// @throws InputError.
std::vector<float>
read_float32_array_attribute(const Node& node, const std::string& name, hsize_t size);

} // namespace triseg::io::h5
