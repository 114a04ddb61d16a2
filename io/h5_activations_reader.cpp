// HDF5 activation dumps: the checked reader (ActsReader) of a dump or of an index and its shards.
#include "io/h5_activations.h"

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/h5_activations_schema.h"
#include "io/h5_util.h"

namespace triseg::io {

using detail::describe;
using detail::kActs;
using detail::kIndices;
using detail::kLabels;
using detail::kLayerNames;
using detail::kLive;
using detail::kLiveNames;
using detail::kRemedy;
using detail::layer_dims;
using detail::layer_list;
using detail::mem_type;

namespace {

/// Chunk cache per dataset: several chunks, so a batch boundary inside a chunk costs nothing.
constexpr size_t kChunkCacheBytes = 4 * 1024 * 1024;
constexpr size_t kChunkCacheSlots = 521;
/// Bounds for the attributes read back.
constexpr int64_t kMaxImages = int64_t{1} << 40;
constexpr int64_t kMaxShards = 1 << 20;

H5::DSetAccPropList cache_plist() {
    H5::DSetAccPropList dapl;
    dapl.setChunkCache(kChunkCacheSlots, kChunkCacheBytes, 1.0);
    return dapl;
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

} // namespace

struct ActsReader::Impl {
    std::string path;
    std::string label;
    h5::File file;
    ActsHeader header;
    std::vector<H5::DataSet> layers;
    std::vector<H5::DataSet> live; ///< per header.live entry
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

    /// The datasets of group `group_name` named by `names` (the string dataset `list`):
    /// [images, channels, side, side] of the dump's kind, with their attributes; `datasets`
    /// receives them in order.
    std::vector<ActsLayer> open_group(const h5::Node& root,
                                      const char* group_name,
                                      const char* list,
                                      const std::vector<std::string>& names,
                                      std::vector<H5::DataSet>& datasets) const {
        const h5::Node group = h5::open_group(root, group_name);
        TRISEG_CHECK(h5::num_links(group) == names.size(), InputError,
                     label << ": /" << group_name << " holds " << h5::num_links(group)
                           << " datasets but /" << list << " lists " << names.size());
        const char* type = header.kind == ActsKind::Int8 ? "uint8" : "float32";
        std::vector<ActsLayer> out;
        for (size_t i = 0; i < names.size(); ++i) {
            const std::string object =
                "dataset '/" + std::string(group_name) + "/" + names[i] + "'";
            TRISEG_CHECK(names[i].find('/') == std::string::npos && names[i] != "." &&
                             names[i] != ".." && h5::has_link(group, names[i]),
                         InputError,
                         label << ": /" << list << " lists '" << names[i] << "' but " << object
                               << " is missing");
            const H5::DataSet probe = group.group.openDataSet(names[i]);
            const h5::Dims dims = h5::shape(probe.getSpace());
            TRISEG_CHECK(dims.size() == 4 && dims[2] == dims[3] && dims[1] > 0 && dims[2] > 0,
                         InputError,
                         label << ": " << object << " has shape " << h5::shape_string(dims)
                               << ", expected [images, channels, side, side]");
            ActsLayer l;
            l.name = names[i];
            l.channels = static_cast<int64_t>(dims[1]);
            l.side = static_cast<int64_t>(dims[2]);
            datasets.push_back(open_rows(group, names[i], type, layer_dims(l, header.images)));
            const H5::DataSet& ds = datasets.back();
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
            out.push_back(l);
        }
        return out;
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
        header.layers = open_group(root, kActs, kLayerNames, names, layers);
        if (h5::has_link(root, kLiveNames)) { // absent for VGG chains and older dumps
            TRISEG_CHECK(header.kind == ActsKind::Int8, InputError,
                         label << ": a float dump holds /live_names; " << kRemedy);
            const auto live_names = h5::read_string_dataset(root, kLiveNames, 1, 1024);
            header.live = open_group(root, kLive, kLiveNames, live_names, live);
        } else {
            TRISEG_CHECK(!h5::has_link(root, kLive), InputError,
                         label << ": /live has no /live_names; " << kRemedy);
        }
        detail::check_names(header, label);
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
            TRISEG_CHECK(detail::same_layers(h, header), InputError,
                         what << " does not hold the index's " << to_string(header.kind)
                              << " layers (" << layer_list(header.layers) << "); " << kRemedy);
        }
    }

    void read_rows(size_t layer, int64_t first, int64_t n, void* out, ActsKind kind) const {
        TRISEG_CHECK(layer < layers.size(), InputError,
                     label << ": no layer " << layer << " (the dump has " << layers.size() << ")");
        read_from(layers[layer], "dataset '/acts/" + header.layers[layer].name + "'", first, n, out,
                  kind);
    }

    void read_live(size_t tensor, int64_t first, int64_t n, uint8_t* out) const {
        TRISEG_CHECK(tensor < live.size(), InputError,
                     label << ": no live tensor " << tensor << " (the dump has " << live.size()
                           << ")");
        read_from(live[tensor], "dataset '/live/" + header.live[tensor].name + "'", first, n, out,
                  ActsKind::Int8);
    }

    /// Rows [first, first + n) of `ds` (`object`, for messages) into `out`.
    void read_from(const H5::DataSet& ds,
                   const std::string& object,
                   int64_t first,
                   int64_t n,
                   void* out,
                   ActsKind kind) const {
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
        try {
            H5::DataSpace space = ds.getSpace();
            h5::Dims count = h5::shape(space);
            h5::Dims start(count.size(), 0);
            start[0] = static_cast<hsize_t>(first);
            count[0] = static_cast<hsize_t>(n);
            space.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
            const H5::DataSpace memspace(static_cast<int>(count.size()), count.data());
            ds.read(out, mem_type(kind), memspace, space);
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

void ActsReader::read_live_codes(size_t tensor, int64_t first, int64_t n, uint8_t* out) const {
    impl_->read_live(tensor, first, n, out);
}

} // namespace triseg::io
