// HDF5 activation dumps (schema "triseg-acts-v1", docs/activations.md): a streaming writer, a
// checked reader that reads image ranges of one layer, and the index file of a sharded dump.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace triseg::io {

/// Value of the root attribute `format` of every dump and index file.
inline constexpr const char* kActsFormat = "triseg-acts-v1";

/// What a dump holds: uint8 codes of the integer model, or float32 outputs of the float model.
enum class ActsKind { Int8, Float };

/// "int8" / "float".
const char* to_string(ActsKind kind);

/// One block output: dataset `/acts/<name>` of shape [images, channels, side, side]; or, in
/// ActsHeader::live, one other tensor replay needs: dataset `/live/<name>`.
struct ActsLayer {
    std::string name;
    int64_t channels = 0;
    int64_t side = 0;
    bool pool_after = false;
    float scale = 0.0f;     ///< Int8 only: real = scale * (code - zero_point)
    int32_t zero_point = 0; ///< Int8 only

    /// Values per image (channels * side * side).
    int64_t size() const { return channels * side * side; }
};

/// Everything a dump says about itself (root attributes, /layer_names, dataset shapes).
struct ActsHeader {
    ActsKind kind = ActsKind::Int8;
    int64_t images = 0; ///< images in this file (the whole dump for an index file)
    std::vector<ActsLayer> layers;
    /// Int8 dumps of a graph: the tensors that are not block outputs but are live at some
    /// block's cut (Int8Network::live_non_points: made before the block and read after it), in
    /// tensor order, so that replay can start from any block. Empty for a VGG chain, for float
    /// dumps and for dumps of older versions (no `/live_names`).
    std::vector<ActsLayer> live;
    std::string model;        ///< absolute path of the model file the activations come from
    std::string model_sha256; ///< SHA-256 of that file (empty in dumps of older versions)
    std::string model_yaml;   ///< the `model:` config section
    std::string config;       ///< the complete effective config (YAML)
    std::string dataset;      ///< "fashion-mnist test"
    std::string tool_version; ///< "triseg 0.1.0"
    std::string created;      ///< ISO 8601 UTC time of writing
    int64_t shard_rank = 0;   ///< this file's shard (0 for a single file or an index)
    int64_t shard_count = 1;  ///< shards of the whole dump (1: a single-file dump)
    int64_t first_image = 0;  ///< position of this file's first image in the whole dump
    int compression = 4;      ///< gzip level, 0 = none
    /// Identity of one dump-acts run, the same in its index and every shard (new_dump_id());
    /// empty in dumps written before it existed.
    std::string dump_id;

    /// Index of the layer called `name`. @throws InputError listing the dump's layers.
    size_t layer_index(const std::string& name) const;
    /// Index in `live` of the tensor called `name`. @throws InputError listing them.
    size_t live_index(const std::string& name) const;
};

/// Writes a dump image batch by image batch, so that memory stays bounded for any image
/// count. The file is written under a temporary name and renamed by commit().
///
///     ActsWriter w(path, header);              // header.images = the total to come
///     while (...) w.append(n, labels, indices, {layer0_values, layer1_values, ...});
///     w.commit();                              // checks that every image was written
class ActsWriter {
public:
    /// Creates the file with chunked, compressed datasets of header.images rows.
    /// @throws ConfigError for a header without images or layers, live tensors in a float
    /// dump, or a compression level outside [0, 9]; InputError for a layer or tensor name that
    /// is not 1 to 256 letters, digits, '_', '.' or '-' (or is "." or ".."), or is used twice;
    /// IoError when the file cannot be created.
    ActsWriter(const std::string& path, const ActsHeader& header);
    ~ActsWriter();
    ActsWriter(const ActsWriter&) = delete;
    ActsWriter& operator=(const ActsWriter&) = delete;

    /// Appends `n` images: `labels` and `indices` [n]; `values[i]` is layer i's data
    /// [n][layer.size()], uint8_t codes (Int8) or float (Float), followed by one entry per
    /// tensor of header.live (uint8_t codes [n][size]).
    /// @throws InputError when more images than header.images arrive; IoError on failure.
    void append(int64_t n,
                const int64_t* labels,
                const int64_t* indices,
                const std::vector<const void*>& values);

    /// Images appended so far.
    int64_t written() const;

    /// Closes the file and renames it over `path`. @throws InputError when fewer images than
    /// header.images were appended; IoError on failure.
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// A fresh random dump identity (32 hex digits).
std::string new_dump_id();

/// The file name (no folder) of shard `rank` of `count` for the index file `path`:
/// "acts_int8.h5" -> "acts_int8.shard-1-of-4.h5".
std::string shard_file_name(const std::string& path, int64_t rank, int64_t count);

/// Writes the index of a sharded dump at `path`: the same layout as a single-file dump, but
/// every dataset is an HDF5 virtual dataset mapping the shards' rows in rank order, plus
/// `/shards` (the shard file names, relative to the index's folder) and `/shard_first_image`
/// ([count + 1] offsets). `whole` describes the whole dump (images = the sum). The shards
/// must exist in the index's folder; each is opened and checked against `whole`.
/// @throws InputError when a shard is missing or disagrees; IoError on failure.
void write_acts_index(const std::string& path, const ActsHeader& whole);

/// Reads a dump or an index file. Checks the format, kind, layer names against `/acts` (and
/// live tensor names against `/live`),
/// dataset types and shapes, labels and indices, quantization attributes, that the writer
/// finished the file (root attribute `complete`), and for an index that every shard opens as
/// a complete dump of the same layers, holds the rows the index maps to it, and has the
/// index's dump_id (HDF5 would otherwise read a missing or short shard as zeros). Stored
/// data is verified by HDF5's Fletcher32 checksums as it is read.
class ActsReader {
public:
    /// @throws IoError when `path` is missing; InputError when it is not HDF5, not a triseg
    /// dump, truncated, or breaks the schema (naming the file and the object), or when a
    /// shard of an index is missing, damaged, cut short or from another dump (naming the
    /// shard and saying to rerun dump-acts).
    explicit ActsReader(const std::string& path);
    ~ActsReader();
    ActsReader(ActsReader&&) noexcept;
    ActsReader& operator=(ActsReader&&) noexcept;

    const ActsHeader& header() const;
    const std::string& path() const;

    /// Labels [images] and positions in the split [images].
    std::vector<int64_t> labels() const;
    std::vector<int64_t> image_indices() const;

    /// Images [first, first + n) of layer `layer` into `out` ([n][layer size]).
    /// @throws InputError for a wrong kind, a range outside the dump, or an unreadable chunk.
    void read_codes(size_t layer, int64_t first, int64_t n, uint8_t* out) const;
    void read_floats(size_t layer, int64_t first, int64_t n, float* out) const;
    /// Images [first, first + n) of live tensor `tensor` (header().live) into `out`.
    /// @throws InputError for a range outside the dump or an unreadable chunk.
    void read_live_codes(size_t tensor, int64_t first, int64_t n, uint8_t* out) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace triseg::io
