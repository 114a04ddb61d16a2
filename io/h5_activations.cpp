// HDF5 activation dumps: streaming writer, checked reader, virtual-dataset index of shards.
#include "io/h5_activations.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

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
    h5::write_string_attribute(root, "model_yaml", h.model_yaml);
    h5::write_string_attribute(root, "config", h.config);
    h5::write_string_attribute(root, "dataset", h.dataset);
    h5::write_string_attribute(root, "tool_version", h.tool_version);
    h5::write_string_attribute(root, "created", h.created);
    h5::write_attribute<int64_t>(root, "shard_rank", h.shard_rank);
    h5::write_attribute<int64_t>(root, "shard_count", h.shard_count);
    h5::write_attribute<int64_t>(root, "first_image", h.first_image);
    h5::write_attribute<int64_t>(root, "compression", h.compression);
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

struct ActsWriter::Impl {
    ActsHeader header;
    AtomicPath atomic;
    std::string label;
    h5::File file;
    std::vector<H5::DataSet> layers;
    H5::DataSet labels;
    H5::DataSet indices;
    int64_t written = 0;

    Impl(const std::string& path, const ActsHeader& h)
        : header(h), atomic(path), label(describe(path)),
          file(h5::File::create(atomic.tmp(), label)) {}

    /// A chunked, compressed dataset of `dims` with rows of `row_bytes`.
    H5::DataSet create(const H5::Group& group,
                       const std::string& name,
                       const H5::PredType& type,
                       const h5::Dims& dims,
                       int64_t row_bytes,
                       bool shuffle) {
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
        const H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
        return group.createDataSet(name, type, space, dcpl, cache_plist());
    }

    void write_rows(const H5::DataSet& ds,
                    const H5::PredType& mem,
                    const void* data,
                    int64_t n,
                    const std::string& object) {
        try {
            H5::DataSpace space = ds.getSpace();
            h5::Dims count = h5::shape(space);
            h5::Dims start(count.size(), 0);
            start[0] = static_cast<hsize_t>(written);
            count[0] = static_cast<hsize_t>(n);
            space.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
            const H5::DataSpace memspace(static_cast<int>(count.size()), count.data());
            ds.write(data, mem, memspace, space);
        } catch (const H5::Exception& e) {
            h5::rethrow(e, h5::Access::Write, label, object);
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
        m.labels = m.create(root.group, kLabels, H5::PredType::STD_I64LE, {n}, 8, false);
        m.indices = m.create(root.group, kIndices, H5::PredType::STD_I64LE, {n}, 8, false);
        const h5::Node acts = h5::create_group(root, kActs);
        const int64_t elem = header.kind == ActsKind::Int8 ? 1 : 4;
        for (size_t i = 0; i < header.layers.size(); ++i) {
            const auto& l = header.layers[i];
            m.layers.push_back(m.create(acts.group, l.name, file_type(header.kind),
                                        layer_dims(l, header.images), l.size() * elem,
                                        header.kind == ActsKind::Float));
            write_layer_attributes(m.layers.back(), l, header.kind, static_cast<int>(i));
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
    TRISEG_CHECK(values.size() == m.layers.size(), InputError,
                 m.label << ": got " << values.size() << " layers, expected " << m.layers.size());
    if (n == 0) {
        return;
    }
    const h5::H5Silence silence;
    m.write_rows(m.labels, H5::PredType::NATIVE_INT64, labels, n, "dataset '/labels'");
    m.write_rows(m.indices, H5::PredType::NATIVE_INT64, indices, n, "dataset '/image_index'");
    for (size_t i = 0; i < values.size(); ++i) {
        m.write_rows(m.layers[i], mem_type(m.header.kind), values[i], n,
                     "dataset '/acts/" + m.header.layers[i].name + "'");
    }
    m.written += n;
}

void ActsWriter::commit() {
    Impl& m = *impl_;
    TRISEG_CHECK(m.written == m.header.images, InputError,
                 m.label << ": only " << m.written << " of " << m.header.images
                         << " images were written");
    const h5::H5Silence silence;
    m.layers.clear();
    m.labels = H5::DataSet();
    m.indices = H5::DataSet();
    m.file.close();
    m.atomic.commit();
}

// -- index of shards ----------------------------------------------------------------------------

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
    h5::File file = h5::File::create(atomic.tmp(), label);
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
        : path(p), label(describe(p)), file(h5::File::open(p, label)) {}

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
        header.model_yaml = h5::read_string_attribute(root, "model_yaml");
        header.config = h5::read_string_attribute(root, "config");
        header.dataset = h5::read_string_attribute(root, "dataset");
        header.tool_version = h5::read_string_attribute(root, "tool_version");
        header.created = h5::read_string_attribute(root, "created");
        header.shard_count = h5::read_int_attribute(root, "shard_count", 1, kMaxShards);
        header.shard_rank = h5::read_int_attribute(root, "shard_rank", 0, header.shard_count - 1);
        header.first_image = h5::read_int_attribute(root, "first_image", 0, kMaxImages);
        header.compression = static_cast<int>(h5::read_int_attribute(root, "compression", 0, 9));
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

    /// An index: every shard file must exist (HDF5 would silently read fill values).
    void check_shards(const h5::Node& root) const {
        const auto files = h5::read_string_dataset(root, "shards", 1, kMaxShards);
        const auto folder = std::filesystem::path(path).parent_path();
        for (const auto& f : files) {
            const std::string shard = (folder / f).string();
            TRISEG_CHECK(file_exists(shard), InputError,
                         label << " is the index of a sharded dump, but its shard '" << shard
                               << "' is missing (keep the shard files beside the index)");
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
            h5::rethrow(e, h5::Access::Read, label, object);
        }
    }

    std::vector<int64_t> read_all(const H5::DataSet& ds, const char* name) const {
        const h5::H5Silence silence;
        std::vector<int64_t> v(static_cast<size_t>(header.images));
        try {
            ds.read(v.data(), H5::PredType::NATIVE_INT64);
        } catch (const H5::Exception& e) {
            h5::rethrow(e, h5::Access::Read, label, std::string("dataset '/") + name + "'");
        }
        return v;
    }
};

ActsReader::ActsReader(const std::string& path) {
    const h5::H5Silence silence;
    impl_ = std::make_unique<Impl>(path);
    try {
        impl_->load();
    } catch (const H5::Exception& e) {
        h5::rethrow(e, h5::Access::Read, impl_->label, "");
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
