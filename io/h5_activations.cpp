// HDF5 activation dumps: what the writer, index and reader share (see h5_activations_schema.h).
#include "io/h5_activations.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/error.h"
#include "io/h5_activations_schema.h"

namespace triseg::io {

namespace {

/// Attributes on datasets (h5_util's helpers work on groups).
template <typename T>
void write_ds_attribute(const H5::DataSet& ds, const char* name, const H5::PredType& ft, T v) {
    const H5::Attribute a = ds.createAttribute(name, ft, H5::DataSpace(H5S_SCALAR));
    a.write(ft == H5::PredType::IEEE_F32LE ? H5::PredType::NATIVE_FLOAT
            : ft == H5::PredType::STD_U8LE ? H5::PredType::NATIVE_UINT8
                                           : H5::PredType::NATIVE_INT32,
            &v);
}

} // namespace

namespace detail {

std::string describe(const std::string& path) {
    return "activation dump '" + path + "'";
}

const H5::PredType& file_type(ActsKind kind) {
    return kind == ActsKind::Int8 ? H5::PredType::STD_U8LE : H5::PredType::IEEE_F32LE;
}

const H5::PredType& mem_type(ActsKind kind) {
    return kind == ActsKind::Int8 ? H5::PredType::NATIVE_UINT8 : H5::PredType::NATIVE_FLOAT;
}

h5::Dims layer_dims(const ActsLayer& l, int64_t images) {
    return {static_cast<hsize_t>(images), static_cast<hsize_t>(l.channels),
            static_cast<hsize_t>(l.side), static_cast<hsize_t>(l.side)};
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
    if (!h.live.empty()) {
        std::vector<std::string> live;
        for (const auto& l : h.live) {
            live.push_back(l.name);
        }
        h5::write_string_dataset(root, kLiveNames, live);
    }
}

void check_names(const ActsHeader& h, const std::string& label) {
    std::set<std::string> seen;
    for (const auto* list : {&h.layers, &h.live}) {
        for (const auto& l : *list) {
            const bool chars = !l.name.empty() && l.name.size() <= 256 && l.name != "." &&
                               l.name != ".." &&
                               std::all_of(l.name.begin(), l.name.end(), [](char ch) {
                                   return std::isalnum(static_cast<unsigned char>(ch)) != 0 ||
                                          ch == '_' || ch == '.' || ch == '-';
                               });
            TRISEG_CHECK(chars, InputError,
                         label << ": the name '" << l.name
                               << "' is not 1 to 256 letters, digits, '_', '.' or '-' (nor '.' "
                                  "or '..')");
            TRISEG_CHECK(seen.insert(l.name).second, InputError,
                         label << ": the name '" << l.name << "' is used twice");
        }
    }
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

bool same_layers(const ActsHeader& a, const ActsHeader& b) {
    const auto same = [](const std::vector<ActsLayer>& x, const std::vector<ActsLayer>& y) {
        return std::equal(x.begin(), x.end(), y.begin(), y.end(), same_layer);
    };
    return a.kind == b.kind && same(a.layers, b.layers) && same(a.live, b.live);
}

std::string layer_list(const std::vector<ActsLayer>& layers) {
    std::string s;
    for (const auto& l : layers) {
        s += (s.empty() ? "" : ", ") + l.name;
    }
    return s;
}

} // namespace detail

const char* to_string(ActsKind kind) {
    return kind == ActsKind::Int8 ? "int8" : "float";
}

size_t ActsHeader::layer_index(const std::string& name) const {
    for (size_t i = 0; i < layers.size(); ++i) {
        if (layers[i].name == name) {
            return i;
        }
    }
    TRISEG_THROW(InputError, "the dump has no layer '"
                                 << name << "'; its layers: " << detail::layer_list(layers));
}

size_t ActsHeader::live_index(const std::string& name) const {
    for (size_t i = 0; i < live.size(); ++i) {
        if (live[i].name == name) {
            return i;
        }
    }
    TRISEG_THROW(InputError, "the dump has no live tensor '"
                                 << name << "'; its live tensors: "
                                 << (live.empty() ? "none" : detail::layer_list(live)));
}

} // namespace triseg::io
