// HDF5 activation dumps: streaming writer, checked reader, virtual-dataset index of shards.
#include "io/h5_activations.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/h5_util.h"

namespace triseg::io {

namespace {

/// Chunks hold whole images and aim at this many bytes (a power-of-two image count, so that
/// batches of kChunkImagesMax images always fill whole chunks).
constexpr int64_t kChunkBytes = 256 * 1024;
constexpr int64_t kChunkImagesMax = 256;
/// Chunk cache per dataset: several chunks, so a batch boundary inside a chunk costs nothing.
constexpr size_t kChunkCacheBytes = 4 * 1024 * 1024;
constexpr size_t kChunkCacheSlots = 521;
/// Bounds for the attributes read back.
constexpr int64_t kMaxImages = int64_t{1} << 40;
constexpr int64_t kMaxShards = 1 << 20;

/// Datasets of the schema, for messages and for the index.
constexpr const char* kLabels = "labels";
constexpr const char* kIndices = "image_index";
constexpr const char* kLayerNames = "layer_names";
constexpr const char* kActs = "acts";

constexpr const char* kRemedy = "rerun `triseg dump-acts` to write it again";

std::string describe(const std::string& path) {
    return "activation dump '" + path + "'";
}

const H5::PredType& file_type(ActsKind kind) {
    return kind == ActsKind::Int8 ? H5::PredType::STD_U8LE : H5::PredType::IEEE_F32LE;
}

const H5::PredType& mem_type(ActsKind kind) {
    return kind == ActsKind::Int8 ? H5::PredType::NATIVE_UINT8 : H5::PredType::NATIVE_FLOAT;
}

int64_t chunk_images(int64_t bytes_per_image, int64_t images) {
    int64_t k = 1;
    while (k * 2 <= kChunkImagesMax && k * 2 * bytes_per_image <= kChunkBytes) {
        k *= 2;
    }
    return std::max<int64_t>(1, std::min(k, images));
}

h5::Dims layer_dims(const ActsLayer& l, int64_t images) {
    return {static_cast<hsize_t>(images), static_cast<hsize_t>(l.channels),
            static_cast<hsize_t>(l.side), static_cast<hsize_t>(l.side)};
}

H5::DSetAccPropList cache_plist() {
    H5::DSetAccPropList dapl;
    dapl.setChunkCache(kChunkCacheSlots, kChunkCacheBytes, 1.0);
    return dapl;
}

/// Attributes on datasets (h5_util's helpers work on groups).
template <typename T>
void write_ds_attribute(const H5::DataSet& ds, const char* name, const H5::PredType& ft, T v) {
    const H5::Attribute a = ds.createAttribute(name, ft, H5::DataSpace(H5S_SCALAR));
    a.write(ft == H5::PredType::IEEE_F32LE ? H5::PredType::NATIVE_FLOAT
            : ft == H5::PredType::STD_U8LE ? H5::PredType::NATIVE_UINT8
                                           : H5::PredType::NATIVE_INT32,
            &v);
}

/// A scalar numeric attribute of a dataset, read as double. @throws InputError.
double read_ds_number(const H5::DataSet& ds,
                      const std::string& file,
                      const std::string& object,
                      const char* name) {
    TRISEG_CHECK(ds.attrExists(name), InputError,
                 file << ": missing attribute '" << name << "' of " << object);
    const H5::Attribute a = ds.openAttribute(name);
    const H5T_class_t cls = a.getDataType().getClass();
    TRISEG_CHECK(
        (cls == H5T_INTEGER || cls == H5T_FLOAT) && a.getSpace().getSimpleExtentNpoints() == 1,
        InputError, file << ": attribute '" << name << "' of " << object << " is not one number");
    double v = 0.0;
    a.read(H5::PredType::NATIVE_DOUBLE, &v);
    return v;
}

void write_header_attributes(const h5::Node& root, const ActsHeader& h) {
    h5::write_string_attribute(root, "format", kActsFormat);
    h5::write_string_attribute(root, "kind", to_string(h.kind));
    h5::write_attribute<int64_t>(root, "images", h.images);
    h5::write_string_attribute(root, "model", h.model);
    h5::write_string_attribute(root, "model_sha256", h.model_sha256);
    h5::write_string_attribute(root, "model_yaml", h.model_yaml);
    h5::write_string_attribute(root, "config", h.config);
    h5::write_string_attribute(root, "dataset", h.dataset);
    h5::write_string_attribute(root, "tool_version", h.tool_version);
    h5::write_string_attribute(root, "created", h.created);
    h5::write_attribute<int64_t>(root, "shard_rank", h.shard_rank);
    h5::write_attribute<int64_t>(root, "shard_count", h.shard_count);
    h5::write_attribute<int64_t>(root, "first_image", h.first_image);
    h5::write_attribute<int64_t>(root, "compression", h.compression);
    h5::write_string_attribute(root, "dump_id", h.dump_id);
    std::vector<std::string> names;
    for (const auto& l : h.layers) {
        names.push_back(l.name);
    }
    h5::write_string_dataset(root, kLayerNames, names);
}

void write_layer_attributes(const H5::DataSet& ds, const ActsLayer& l, ActsKind kind, int index) {
    write_ds_attribute<int32_t>(ds, "index", H5::PredType::STD_I32LE, index);
    write_ds_attribute<uint8_t>(ds, "pool_after", H5::PredType::STD_U8LE, l.pool_after ? 1 : 0);
    if (kind == ActsKind::Int8) {
        write_ds_attribute<float>(ds, "scale", H5::PredType::IEEE_F32LE, l.scale);
        write_ds_attribute<int32_t>(ds, "zero_point", H5::PredType::STD_I32LE, l.zero_point);
    }
}

bool same_layer(const ActsLayer& a, const ActsLayer& b) {
    return a.name == b.name && a.channels == b.channels && a.side == b.side &&
           a.pool_after == b.pool_after && a.scale == b.scale && a.zero_point == b.zero_point;
}

std::string layer_list(const std::vector<ActsLayer>& layers) {
    std::string s;
    for (const auto& l : layers) {
        s += (s.empty() ? "" : ", ") + l.name;
    }
    return s;
}

} // namespace

const char* to_string(ActsKind kind) {
    return kind == ActsKind::Int8 ? "int8" : "float";
}

size_t ActsHeader::layer_index(const std::string& name) const {
    for (size_t i = 0; i < layers.size(); ++i) {
        if (layers[i].name == name) {
            return i;
        }
    }
    TRISEG_THROW(InputError,
                 "the dump has no layer '" << name << "'; its layers: " << layer_list(layers));
}

// -- writer -------------------------------------------------------------------------------------

/// One dataset being written: rows are buffered until they fill whole chunks, which are then
/// written directly (the file has no chunk cache; see h5::File), so that nothing is left
/// unwritten in HDF5's caches when the disk fills up.
struct RowStream {
    H5::DataSet ds;
    const H5::PredType* mem = nullptr;
    int64_t row_bytes = 0;
    int64_t chunk_rows = 1;
    std::string object;
    std::vector<uint8_t> pending; ///< rows after `flushed`, fewer than chunk_rows
    int64_t flushed = 0;          ///< rows in the file (a multiple of chunk_rows until the end)

    /// Writes `rows` buffered rows at `flushed`. Throws H5::Exception.
    void write(const uint8_t* data, int64_t rows) {
        H5::DataSpace space = ds.getSpace();
        h5::Dims count = h5::shape(space);
        h5::Dims start(count.size(), 0);
        start[0] = static_cast<hsize_t>(flushed);
        count[0] = static_cast<hsize_t>(rows);
        space.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
        const H5::DataSpace memspace(static_cast<int>(count.size()), count.data());
        ds.write(data, *mem, memspace, space);
        flushed += rows;
    }

    /// Appends `n` rows at `data`; writes every whole chunk (all when `last`).
    void append(const void* data, int64_t n, bool last) {
        const auto* bytes = static_cast<const uint8_t*>(data);
        pending.insert(pending.end(), bytes, bytes + n * row_bytes);
        const auto rows = static_cast<int64_t>(pending.size()) / row_bytes;
        const int64_t whole = last ? rows : rows / chunk_rows * chunk_rows;
        if (whole > 0) {
            write(pending.data(), whole);
            pending.erase(pending.begin(), pending.begin() + whole * row_bytes);
        }
    }
};

struct ActsWriter::Impl {
    ActsHeader header;
    AtomicPath atomic;
    std::string label;
    h5::File file;
    std::vector<RowStream> streams; ///< labels, image_index, then one per layer
    int64_t written = 0;

    Impl(const std::string& path, const ActsHeader& h)
        : header(h), atomic(path), label(describe(path)),
          file(h5::File::create(atomic.tmp(), label, atomic.folder())) {}

    /// Without commit(): the file is closed quietly before the dataset handles are released,
    /// then `atomic` removes it.
    ~Impl() { file.discard(); }

    /// A chunked, compressed, checksummed dataset `name` of `dims` with rows of `row_bytes`.
    void create(const H5::Group& group,
                const std::string& name,
                const H5::PredType& type,
                const H5::PredType& mem,
                const h5::Dims& dims,
                int64_t row_bytes,
                bool shuffle,
                const std::string& object) {
        h5::Dims chunk = dims;
        chunk[0] = static_cast<hsize_t>(chunk_images(row_bytes, header.images));
        H5::DSetCreatPropList dcpl;
        dcpl.setChunk(static_cast<int>(chunk.size()), chunk.data());
        if (header.compression > 0) {
            if (shuffle) {
                dcpl.setShuffle();
            }
            dcpl.setDeflate(static_cast<unsigned>(header.compression));
        }
        dcpl.setFletcher32(); // last: the checksum covers the stored (compressed) bytes
        const H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
        RowStream s;
        s.ds = group.createDataSet(name, type, space, dcpl);
        s.mem = &mem;
        s.row_bytes = row_bytes;
        s.chunk_rows = static_cast<int64_t>(chunk[0]);
        s.object = object;
        streams.push_back(std::move(s));
    }

    void append(RowStream& s, const void* data, int64_t n, bool last) {
        try {
            s.append(data, n, last);
        } catch (const H5::Exception& e) {
            h5::rethrow(e, h5::Access::Write, label, s.object);
        }
    }
};

ActsWriter::ActsWriter(const std::string& path, const ActsHeader& header) {
    TRISEG_CHECK(header.images > 0, ConfigError, "an activation dump needs at least one image");
    TRISEG_CHECK(!header.layers.empty(), ConfigError, "an activation dump needs layers");
    TRISEG_CHECK(header.compression >= 0 && header.compression <= 9, ConfigError,
                 "--compression must be in [0, 9], got " << header.compression);
    const h5::H5Silence silence;
    impl_ = std::make_unique<Impl>(path, header);
    Impl& m = *impl_;
    const h5::Node& root = m.file.root();
    try {
        write_header_attributes(root, header);
        const hsize_t n = static_cast<hsize_t>(header.images);
        const auto& i64 = H5::PredType::STD_I64LE;
        const auto& mem64 = H5::PredType::NATIVE_INT64;
        m.create(root.group, kLabels, i64, mem64, {n}, 8, false, "dataset '/labels'");
        m.create(root.group, kIndices, i64, mem64, {n}, 8, false, "dataset '/image_index'");
        const h5::Node acts = h5::create_group(root, kActs);
        const int64_t elem = header.kind == ActsKind::Int8 ? 1 : 4;
        for (size_t i = 0; i < header.layers.size(); ++i) {
            const auto& l = header.layers[i];
            m.create(acts.group, l.name, file_type(header.kind), mem_type(header.kind),
                     layer_dims(l, header.images), l.size() * elem, header.kind == ActsKind::Float,
                     "dataset '/acts/" + l.name + "'");
            write_layer_attributes(m.streams.back().ds, l, header.kind, static_cast<int>(i));
        }
    } catch (const H5::Exception& e) {
        h5::rethrow(e, h5::Access::Write, m.label, "");
    }
}

ActsWriter::~ActsWriter() = default;

int64_t ActsWriter::written() const {
    return impl_->written;
}

void ActsWriter::append(int64_t n,
                        const int64_t* labels,
                        const int64_t* indices,
                        const std::vector<const void*>& values) {
    Impl& m = *impl_;
    TRISEG_CHECK(n >= 0 && m.written + n <= m.header.images, InputError,
                 m.label << ": " << m.written + n << " images appended to a dump of "
                         << m.header.images);
    TRISEG_CHECK(values.size() + 2 == m.streams.size(), InputError,
                 m.label << ": got " << values.size() << " layers, expected "
                         << m.streams.size() - 2);
    if (n == 0) {
        return;
    }
    const h5::H5Silence silence;
    const bool last = m.written + n == m.header.images;
    m.append(m.streams[0], labels, n, last);
    m.append(m.streams[1], indices, n, last);
    for (size_t i = 0; i < values.size(); ++i) {
        m.append(m.streams[i + 2], values[i], n, last);
    }
    m.written += n;
}

void ActsWriter::commit() {
    Impl& m = *impl_;
    TRISEG_CHECK(m.written == m.header.images, InputError,
                 m.label << ": only " << m.written << " of " << m.header.images
                         << " images were written");
    const h5::H5Silence silence;
    m.streams.clear();
    h5::write_attribute<uint8_t>(m.file.root(), "complete", 1); // last: the file is whole
    m.file.close();
    m.atomic.commit();
}

// -- index of shards ----------------------------------------------------------------------------

std::string new_dump_id() {
    std::random_device device;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 4; ++i) {
        uint32_t word = device();
        for (int k = 0; k < 8; ++k, word >>= 4) {
            id += kHex[word & 0xf];
        }
    }
    return id;
}

std::string shard_file_name(const std::string& path, int64_t rank, int64_t count) {
    const std::filesystem::path p(path);
    return p.stem().string() + ".shard-" + std::to_string(rank) + "-of-" + std::to_string(count) +
           p.extension().string();
}

namespace {

/// One virtual dataset `name` under `parent_id` of shape `dims` (rows = images), mapping
/// rows [offsets[r], offsets[r+1]) to `source` in shard file `files[r]`.
H5::DataSet create_virtual(hid_t parent_id,
                           const std::string& name,
                           const H5::PredType& type,
                           const h5::Dims& dims,
                           const std::vector<std::string>& files,
                           const std::vector<int64_t>& offsets,
                           const std::string& source) {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    const hid_t vspace = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    herr_t status = dcpl < 0 || vspace < 0 ? -1 : 0;
    for (size_t r = 0; r < files.size() && status >= 0; ++r) {
        h5::Dims start(dims.size(), 0);
        h5::Dims count = dims;
        start[0] = static_cast<hsize_t>(offsets[r]);
        count[0] = static_cast<hsize_t>(offsets[r + 1] - offsets[r]);
        const hid_t src = H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr);
        status = H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start.data(), nullptr, count.data(),
                                     nullptr);
        if (status >= 0) {
            status = H5Pset_virtual(dcpl, vspace, files[r].c_str(), source.c_str(), src);
        }
        H5Sclose(src);
    }
    hid_t ds = -1;
    if (status >= 0) {
        H5Sselect_all(vspace);
        ds = H5Dcreate2(parent_id, name.c_str(), type.getId(), vspace, H5P_DEFAULT, dcpl,
                        H5P_DEFAULT);
    }
    H5Sclose(vspace);
    H5Pclose(dcpl);
    if (ds < 0) {
        throw H5::DataSetIException("create_virtual", "H5Dcreate2 of a virtual dataset failed");
    }
    H5::DataSet result(ds); // takes its own reference
    H5Dclose(ds);
    return result;
}

} // namespace

void write_acts_index(const std::string& path, const ActsHeader& whole) {
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    std::vector<std::string> files;
    std::vector<int64_t> offsets = {0};
    for (int64_t r = 0; r < whole.shard_count; ++r) {
        files.push_back(shard_file_name(path, r, whole.shard_count));
        const ActsReader shard((folder / files.back()).string());
        const ActsHeader& h = shard.header();
        const std::string label = describe(shard.path());
        TRISEG_CHECK(h.kind == whole.kind && h.layers.size() == whole.layers.size(), InputError,
                     label << " is not a " << to_string(whole.kind) << " shard of "
                           << whole.layers.size() << " layers");
        TRISEG_CHECK(h.dump_id == whole.dump_id, InputError,
                     label << " belongs to another dump (dump_id '" << h.dump_id << "', expected '"
                           << whole.dump_id << "'); " << kRemedy);
        for (size_t i = 0; i < h.layers.size(); ++i) {
            TRISEG_CHECK(same_layer(h.layers[i], whole.layers[i]), InputError,
                         label << ": layer " << h.layers[i].name
                               << " differs from the other shards (" << whole.layers[i].name
                               << ")");
        }
        TRISEG_CHECK(h.shard_rank == r && h.shard_count == whole.shard_count &&
                         h.first_image == offsets.back(),
                     InputError,
                     label << " is shard " << h.shard_rank << " of " << h.shard_count
                           << " starting at image " << h.first_image << ", expected shard " << r
                           << " of " << whole.shard_count << " starting at " << offsets.back());
        offsets.push_back(offsets.back() + h.images);
    }
    ActsHeader head = whole;
    head.images = offsets.back();
    head.shard_rank = 0;
    head.first_image = 0;

    const std::string label = describe(path);
    const h5::H5Silence silence;
    AtomicPath atomic(path);
    h5::File file = h5::File::create(atomic.tmp(), label, atomic.folder());
    try {
        const h5::Node& root = file.root();
        write_header_attributes(root, head);
        h5::write_string_dataset(root, "shards", files);
        h5::write_dataset<int64_t>(root, "shard_first_image", {offsets.size()}, offsets);
        const hsize_t n = static_cast<hsize_t>(head.images);
        create_virtual(root.group.getId(), kLabels, H5::PredType::STD_I64LE, {n}, files, offsets,
                       std::string("/") + kLabels);
        create_virtual(root.group.getId(), kIndices, H5::PredType::STD_I64LE, {n}, files, offsets,
                       std::string("/") + kIndices);
        const h5::Node acts = h5::create_group(root, kActs);
        for (size_t i = 0; i < head.layers.size(); ++i) {
            const auto& l = head.layers[i];
            const H5::DataSet ds =
                create_virtual(acts.group.getId(), l.name, file_type(head.kind),
                               layer_dims(l, head.images), files, offsets, "/acts/" + l.name);
            write_layer_attributes(ds, l, head.kind, static_cast<int>(i));
        }
        h5::write_attribute<uint8_t>(root, "complete", 1);
    } catch (const H5::Exception& e) {
        h5::rethrow(e, h5::Access::Write, label, "");
    }
    file.close();
    atomic.commit();
}

// -- reader -------------------------------------------------------------------------------------

struct ActsReader::Impl {
    std::string path;
    std::string label;
    h5::File file;
    ActsHeader header;
    std::vector<H5::DataSet> layers;
    H5::DataSet labels;
    H5::DataSet indices;

    explicit Impl(const std::string& p)
        : path(p), label(describe(p)), file(h5::File::open(p, label, kRemedy)) {}

    H5::DataSet open_rows(const h5::Node& parent,
                          const std::string& name,
                          const char* type,
                          const h5::Dims& dims) const {
        const std::string object = "dataset '" + parent.child(name) + "'";
        TRISEG_CHECK(h5::has_link(parent, name), InputError, label << ": missing " << object);
        const H5::DataSet ds = parent.group.openDataSet(name, cache_plist());
        const std::string got = h5::type_name(ds.getDataType());
        TRISEG_CHECK(got == type, InputError,
                     label << ": " << object << " has type " << got << ", expected " << type);
        const h5::Dims shape = h5::shape(ds.getSpace());
        TRISEG_CHECK(shape == dims, InputError,
                     label << ": " << object << " has shape " << h5::shape_string(shape)
                           << ", expected " << h5::shape_string(dims));
        h5::require_checksum(parent, object, ds);
        return ds;
    }

    void load() {
        const h5::Node& root = file.root();
        TRISEG_CHECK(h5::has_attribute(root, "format"), InputError,
                     label << " is not a triseg activation dump (no 'format' attribute)");
        const std::string format = h5::read_string_attribute(root, "format");
        TRISEG_CHECK(format == kActsFormat, InputError,
                     label << " has format '" << format << "', expected '" << kActsFormat << "'");
        const std::string kind = h5::read_string_attribute(root, "kind");
        TRISEG_CHECK(kind == "int8" || kind == "float", InputError,
                     label << ": attribute 'kind' is '" << kind << "', expected int8 or float");
        header.kind = kind == "int8" ? ActsKind::Int8 : ActsKind::Float;
        header.images = h5::read_int_attribute(root, "images", 1, kMaxImages);
        header.model = h5::read_string_attribute(root, "model");
        if (h5::has_attribute(root, "model_sha256")) { // absent in dumps of older versions
            header.model_sha256 = h5::read_string_attribute(root, "model_sha256");
        }
        header.model_yaml = h5::read_string_attribute(root, "model_yaml");
        header.config = h5::read_string_attribute(root, "config");
        header.dataset = h5::read_string_attribute(root, "dataset");
        header.tool_version = h5::read_string_attribute(root, "tool_version");
        header.created = h5::read_string_attribute(root, "created");
        header.shard_count = h5::read_int_attribute(root, "shard_count", 1, kMaxShards);
        header.shard_rank = h5::read_int_attribute(root, "shard_rank", 0, header.shard_count - 1);
        header.first_image = h5::read_int_attribute(root, "first_image", 0, kMaxImages);
        header.compression = static_cast<int>(h5::read_int_attribute(root, "compression", 0, 9));
        // dump_id and complete came together: a file with dump_id must have complete = 1.
        if (h5::has_attribute(root, "dump_id")) {
            header.dump_id = h5::read_string_attribute(root, "dump_id");
            TRISEG_CHECK(h5::has_attribute(root, "complete") &&
                             h5::read_int_attribute(root, "complete", 0, 1) == 1,
                         InputError,
                         label << " is incomplete (its writer did not finish it); " << kRemedy);
        }
        const auto names = h5::read_string_dataset(root, kLayerNames, 1, 1024);
        const hsize_t n = static_cast<hsize_t>(header.images);
        labels = open_rows(root, kLabels, "int64", {n});
        indices = open_rows(root, kIndices, "int64", {n});
        const h5::Node acts = h5::open_group(root, kActs);
        TRISEG_CHECK(h5::num_links(acts) == names.size(), InputError,
                     label << ": /acts holds " << h5::num_links(acts) << " datasets but "
                           << "/layer_names lists " << names.size());
        const char* type = header.kind == ActsKind::Int8 ? "uint8" : "float32";
        for (size_t i = 0; i < names.size(); ++i) {
            const std::string object = "dataset '/acts/" + names[i] + "'";
            TRISEG_CHECK(h5::has_link(acts, names[i]), InputError,
                         label << ": /layer_names lists '" << names[i] << "' but " << object
                               << " is missing");
            const H5::DataSet probe = acts.group.openDataSet(names[i]);
            const h5::Dims dims = h5::shape(probe.getSpace());
            TRISEG_CHECK(dims.size() == 4 && dims[2] == dims[3] && dims[1] > 0 && dims[2] > 0,
                         InputError,
                         label << ": " << object << " has shape " << h5::shape_string(dims)
                               << ", expected [images, channels, side, side]");
            ActsLayer l;
            l.name = names[i];
            l.channels = static_cast<int64_t>(dims[1]);
            l.side = static_cast<int64_t>(dims[2]);
            layers.push_back(open_rows(acts, names[i], type, layer_dims(l, header.images)));
            const H5::DataSet& ds = layers.back();
            TRISEG_CHECK(read_ds_number(ds, label, object, "index") == static_cast<double>(i),
                         InputError,
                         label << ": attribute 'index' of " << object << " is not " << i);
            l.pool_after = read_ds_number(ds, label, object, "pool_after") != 0.0;
            if (header.kind == ActsKind::Int8) {
                const double scale = read_ds_number(ds, label, object, "scale");
                const double zp = read_ds_number(ds, label, object, "zero_point");
                TRISEG_CHECK(std::isfinite(scale) && scale > 0, InputError,
                             label << ": attribute 'scale' of " << object << " is " << scale
                                   << ", expected a finite value > 0");
                TRISEG_CHECK(zp >= 0 && zp <= 255 && zp == std::floor(zp), InputError,
                             label << ": attribute 'zero_point' of " << object << " is " << zp
                                   << ", expected an integer in [0, 255]");
                l.scale = static_cast<float>(scale);
                l.zero_point = static_cast<int32_t>(zp);
            }
            header.layers.push_back(l);
        }
        if (h5::has_link(root, "shards")) {
            check_shards(root);
        }
    }

    /// An index: every shard must be a complete dump of this index's layers, hold exactly the
    /// rows mapped to it and carry its dump_id; else HDF5 reads fill values (zeros) for the
    /// missing rows of a cut-short, empty or foreign shard.
    void check_shards(const h5::Node& root) const {
        const auto files = h5::read_string_dataset(root, "shards", 1, kMaxShards);
        const auto count = static_cast<hsize_t>(files.size());
        const auto offsets = h5::read_dataset<int64_t>(root, "shard_first_image", {count + 1});
        TRISEG_CHECK(header.shard_count == static_cast<int64_t>(count) && offsets.front() == 0 &&
                         offsets.back() == header.images,
                     InputError,
                     label << ": /shards and /shard_first_image do not describe "
                           << header.shard_count << " shards of " << header.images << " images; "
                           << kRemedy);
        const auto folder = std::filesystem::path(path).parent_path();
        for (size_t r = 0; r < files.size(); ++r) {
            const std::string shard = (folder / files[r]).string();
            const std::string what = label + ": its shard '" + shard + "'";
            TRISEG_CHECK(file_exists(shard), InputError,
                         label << " is the index of a sharded dump, but its shard '" << shard
                               << "' is missing (keep the shard files beside the index)");
            ActsHeader h;
            try {
                h = ActsReader(shard).header();
            } catch (const Error& e) {
                TRISEG_THROW(InputError,
                             what << " is damaged or incomplete (" << e.what() << "); " << kRemedy);
            }
            const int64_t rows = offsets[r + 1] - offsets[r];
            TRISEG_CHECK(
                h.shard_rank == static_cast<int64_t>(r) && h.shard_count == header.shard_count &&
                    h.first_image == offsets[r] && h.images == rows,
                InputError,
                what << " is shard " << h.shard_rank << " of " << h.shard_count << " with "
                     << h.images << " images from image " << h.first_image << ", expected shard "
                     << r << " of " << header.shard_count << " with " << rows
                     << " images from image " << offsets[r] << "; " << kRemedy);
            TRISEG_CHECK(h.dump_id == header.dump_id, InputError,
                         what << " belongs to another dump (dump_id '" << h.dump_id
                              << "', the index has '" << header.dump_id << "'); " << kRemedy);
            bool same = h.kind == header.kind && h.layers.size() == header.layers.size();
            for (size_t i = 0; same && i < h.layers.size(); ++i) {
                same = same_layer(h.layers[i], header.layers[i]);
            }
            TRISEG_CHECK(same, InputError,
                         what << " does not hold the index's " << to_string(header.kind)
                              << " layers (" << layer_list(header.layers) << "); " << kRemedy);
        }
    }

    void read_rows(size_t layer, int64_t first, int64_t n, void* out, ActsKind kind) const {
        TRISEG_CHECK(layer < layers.size(), InputError,
                     label << ": no layer " << layer << " (the dump has " << layers.size() << ")");
        TRISEG_CHECK(header.kind == kind, InputError,
                     label << " holds " << to_string(header.kind) << " activations, not "
                           << to_string(kind));
        TRISEG_CHECK(first >= 0 && n >= 0 && first + n <= header.images, InputError,
                     label << ": images [" << first << ", " << first + n
                           << ") are outside the dump's " << header.images);
        if (n == 0) {
            return;
        }
        const h5::H5Silence silence;
        const std::string object = "dataset '/acts/" + header.layers[layer].name + "'";
        try {
            H5::DataSpace space = layers[layer].getSpace();
            h5::Dims count = h5::shape(space);
            h5::Dims start(count.size(), 0);
            start[0] = static_cast<hsize_t>(first);
            count[0] = static_cast<hsize_t>(n);
            space.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
            const H5::DataSpace memspace(static_cast<int>(count.size()), count.data());
            layers[layer].read(out, mem_type(kind), memspace, space);
        } catch (const H5::Exception& e) {
            h5::rethrow(e, h5::Access::Read, label, object, kRemedy);
        }
    }

    std::vector<int64_t> read_all(const H5::DataSet& ds, const char* name) const {
        const h5::H5Silence silence;
        std::vector<int64_t> v(static_cast<size_t>(header.images));
        try {
            ds.read(v.data(), H5::PredType::NATIVE_INT64);
        } catch (const H5::Exception& e) {
            h5::rethrow(e, h5::Access::Read, label, std::string("dataset '/") + name + "'",
                        kRemedy);
        }
        return v;
    }
};

ActsReader::ActsReader(const std::string& path) {
    const h5::H5Silence silence;
    impl_ = std::make_unique<Impl>(path);
    try {
        impl_->load();
        impl_->file.verify_metadata();
    } catch (const H5::Exception& e) {
        h5::rethrow(e, h5::Access::Read, impl_->label, "", kRemedy);
    }
}

ActsReader::~ActsReader() = default;
ActsReader::ActsReader(ActsReader&&) noexcept = default;
ActsReader& ActsReader::operator=(ActsReader&&) noexcept = default;

const ActsHeader& ActsReader::header() const {
    return impl_->header;
}

const std::string& ActsReader::path() const {
    return impl_->path;
}

std::vector<int64_t> ActsReader::labels() const {
    return impl_->read_all(impl_->labels, kLabels);
}

std::vector<int64_t> ActsReader::image_indices() const {
    return impl_->read_all(impl_->indices, kIndices);
}

void ActsReader::read_codes(size_t layer, int64_t first, int64_t n, uint8_t* out) const {
    impl_->read_rows(layer, first, n, out, ActsKind::Int8);
}

void ActsReader::read_floats(size_t layer, int64_t first, int64_t n, float* out) const {
    impl_->read_rows(layer, first, n, out, ActsKind::Float);
}

} // namespace triseg::io
