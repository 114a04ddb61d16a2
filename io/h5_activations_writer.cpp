// HDF5 activation dumps: the streaming writer (ActsWriter).
#include "io/h5_activations.h"

#include <algorithm>

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
using detail::layer_dims;
using detail::mem_type;
using detail::write_header_attributes;
using detail::write_layer_attributes;

namespace {

/// Chunks hold whole images and aim at this many bytes (a power-of-two image count, so that
/// batches of kChunkImagesMax images always fill whole chunks).
constexpr int64_t kChunkBytes = 256 * 1024;
constexpr int64_t kChunkImagesMax = 256;

int64_t chunk_images(int64_t bytes_per_image, int64_t images) {
    int64_t k = 1;
    while (k * 2 <= kChunkImagesMax && k * 2 * bytes_per_image <= kChunkBytes) {
        k *= 2;
    }
    return std::max<int64_t>(1, std::min(k, images));
}

} // namespace

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
    std::vector<RowStream> streams; ///< labels, image_index, one per layer, one per live tensor
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
    TRISEG_CHECK(header.live.empty() || header.kind == ActsKind::Int8, ConfigError,
                 "a float activation dump cannot hold live tensors");
    detail::check_names(header, describe(path));
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
        if (!header.live.empty()) {
            const h5::Node live = h5::create_group(root, kLive);
            for (size_t i = 0; i < header.live.size(); ++i) {
                const auto& l = header.live[i];
                m.create(live.group, l.name, file_type(header.kind), mem_type(header.kind),
                         layer_dims(l, header.images), l.size(), false,
                         "dataset '/live/" + l.name + "'");
                write_layer_attributes(m.streams.back().ds, l, header.kind, static_cast<int>(i));
            }
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
                 m.label << ": got " << values.size() << " layers and live tensors, expected "
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

} // namespace triseg::io
