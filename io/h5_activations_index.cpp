// HDF5 activation dumps: the index of a sharded dump (virtual datasets over the shards), and
// the names and identity of its shards.
#include "io/h5_activations.h"

#include <filesystem>
#include <random>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/h5_activations_schema.h"
#include "io/h5_util.h"

namespace triseg::io {

using detail::describe;
using detail::file_type;
using detail::kActs;
using detail::kIndices;
using detail::kLabels;
using detail::kLive;
using detail::kRemedy;
using detail::layer_dims;
using detail::same_layer;
using detail::write_header_attributes;
using detail::write_layer_attributes;

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
        TRISEG_CHECK(h.kind == whole.kind && h.layers.size() == whole.layers.size() &&
                         h.live.size() == whole.live.size(),
                     InputError,
                     label << " is not a " << to_string(whole.kind) << " shard of "
                           << whole.layers.size() << " layers and " << whole.live.size()
                           << " live tensors");
        TRISEG_CHECK(h.dump_id == whole.dump_id, InputError,
                     label << " belongs to another dump (dump_id '" << h.dump_id << "', expected '"
                           << whole.dump_id << "'); " << kRemedy);
        for (size_t i = 0; i < h.layers.size(); ++i) {
            TRISEG_CHECK(same_layer(h.layers[i], whole.layers[i]), InputError,
                         label << ": layer " << h.layers[i].name
                               << " differs from the other shards (" << whole.layers[i].name
                               << ")");
        }
        for (size_t i = 0; i < h.live.size(); ++i) {
            TRISEG_CHECK(same_layer(h.live[i], whole.live[i]), InputError,
                         label << ": live tensor " << h.live[i].name
                               << " differs from the other shards (" << whole.live[i].name << ")");
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
        if (!head.live.empty()) {
            const h5::Node live = h5::create_group(root, kLive);
            for (size_t i = 0; i < head.live.size(); ++i) {
                const auto& l = head.live[i];
                const H5::DataSet ds =
                    create_virtual(live.group.getId(), l.name, file_type(head.kind),
                                   layer_dims(l, head.images), files, offsets, "/live/" + l.name);
                write_layer_attributes(ds, l, head.kind, static_cast<int>(i));
            }
        }
        h5::write_attribute<uint8_t>(root, "complete", 1);
    } catch (const H5::Exception& e) {
        h5::rethrow(e, h5::Access::Write, label, "");
    }
    file.close();
    atomic.commit();
}

} // namespace triseg::io
