// Int8Network::run: the forward pass of a batch of images, in parallel, in each of its modes.
#include "engine/int8/int8_network.h"

#include <algorithm>
#include <exception>

#include <omp.h>

#include "common/error.h"
#include "engine/int8/graph_kernels.h"
#include "engine/int8/int8_kernels.h"

namespace triseg::engine {

namespace {

/// Work memory of the thread that runs images of a forward pass. One per OS thread
/// (thread_local): it is kept between calls, so a call allocates only when it needs more than
/// the thread's earlier calls did, and concurrent calls from different threads (evaluator
/// threads, nested OpenMP teams) never share one.
struct Workspace {
    std::vector<uint8_t> a; ///< one image's tensors (Int8Network's arena)
    std::vector<int16_t> scratch;
    std::vector<int32_t> acc;            ///< accumulators of the portable conv
    std::vector<const uint8_t*> tensors; ///< where each tensor of the current image is
    /// This thread's share of a call's histograms / counts, added to the caller's at the end.
    std::vector<CodeHistogram> histograms;
    std::vector<MapCounts> counts;
    std::vector<int64_t> sq_error; ///< per point, against Mapping::reference

    /// Grows a to at least `codes` entries (never shrinks).
    void reserve_codes(int64_t codes) {
        const auto n = static_cast<size_t>(codes);
        if (a.size() < n) {
            a.resize(n);
        }
    }
};

Workspace& thread_workspace() {
    static thread_local Workspace ws;
    return ws;
}

/// Adds the codes to `h`. Four interleaved partial counts: after ReLU most codes are equal
/// (zero), and one counter would serialize on store-to-load forwarding of the same bin.
void add_histogram(const uint8_t* codes, int64_t count, CodeHistogram& h) {
    uint32_t part[4][256] = {};
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        ++part[0][codes[i]];
        ++part[1][codes[i + 1]];
        ++part[2][codes[i + 2]];
        ++part[3][codes[i + 3]];
    }
    for (; i < count; ++i) {
        ++part[0][codes[i]];
    }
    for (int v = 0; v < 256; ++v) {
        h[static_cast<size_t>(v)] +=
            static_cast<int64_t>(part[0][v]) + part[1][v] + part[2][v] + part[3][v];
    }
}

} // namespace

/// One call of run(): what all its images share (fixed before the threads start), and the steps
/// of one image, one function per mode: the start from a stored live set (forward_from), the ops,
/// and at each point either its map and counts (forward_counted) or its histogram, copy and
/// table (forward, forward_blocks).
struct Int8Network::Pass {
    const Int8Network& net;
    const models::Int8Graph& g;
    int64_t first; ///< -1: from input codes; else from point `first`'s stored live set
    const uint8_t* const* starts; ///< the input codes, or one buffer per live tensor
    float* logits;
    const std::vector<const uint8_t*>& tables;    ///< empty or one per point
    const std::vector<LayerCodes>* maps;          ///< null or one per point
    bool histograms;                              ///< whether each thread counts codes
    bool counts;                                  ///< whether each thread counts map outcomes
    const std::vector<const uint8_t*>* reference; ///< null or one buffer per point
    const std::vector<uint8_t*>* keep;            ///< null or one copy target (or null) per tensor
    size_t layers;
    const int32_t* start_tensors; ///< the tensors `starts` hold
    size_t start_count;           ///< how many
    size_t start_op;              ///< the first op to run
    int64_t classes;

    /// Sets up this thread's workspace: one image's arena, zero histograms / counts.
    void begin_thread(Workspace& ws) const {
        ws.reserve_codes(net.arena_);
        if (histograms) {
            ws.histograms.assign(layers, CodeHistogram{});
        }
        if (counts) {
            ws.counts.assign(layers, MapCounts{});
        }
        if (reference != nullptr) {
            ws.sq_error.assign(layers, 0);
        }
        ws.tensors.assign(g.tensors.size(), nullptr);
    }

    /// Image `img`: its start tensors, then every op from start_op on.
    void run_image(int64_t img, Workspace& ws) const {
        for (size_t j = 0; j < start_count; ++j) {
            const auto t = static_cast<size_t>(start_tensors[j]);
            const int64_t size = g.tensors[t].size();
            const uint8_t* in = starts[j] + img * size;
            if (first >= 0) {
                in = stored_tensor(t, in, ws.a.data());
            } else if (keep != nullptr && (*keep)[t] != nullptr) {
                std::copy(in, in + size, (*keep)[t] + img * size);
            }
            ws.tensors[t] = in;
        }
        for (size_t i = start_op; i < g.ops.size(); ++i) {
            run_op(i, img, ws);
        }
    }

    /// The stored codes `in` of live tensor `t`: a point's table or map into its buffer (the
    /// stored codes stay untouched), as run_op does after the op; `in` itself when there is
    /// neither. A live tensor's buffer is its own until its last reader, so the ops after the
    /// cut never write over it.
    const uint8_t* stored_tensor(size_t t, const uint8_t* in, uint8_t* arena) const {
        const int32_t p = net.point_of_tensor_[t];
        if (p < 0) {
            return in;
        }
        const auto f = static_cast<size_t>(p);
        const int64_t count = g.tensors[t].size();
        uint8_t* buf = arena + net.offset_[t];
        const uint8_t* table = tables.empty() ? nullptr : tables[f];
        if (maps != nullptr) {
            apply_map(net.isa_, in, buf, count, (*maps)[f], nullptr);
            return buf;
        }
        if (table != nullptr) {
            for (int64_t k = 0; k < count; ++k) {
                buf[k] = table[in[k]];
            }
            return buf;
        }
        return in;
    }

    /// Op `i` of image `img`, and at a point what the mode does with its output.
    void run_op(size_t i, int64_t img, Workspace& ws) const {
        const models::Int8Op& op = g.ops[i];
        const uint8_t* src = ws.tensors[static_cast<size_t>(op.inputs[0])];
        if (op.kind == models::Int8OpKind::Linear) {
            const models::Int8Tensor& x = g.tensors[static_cast<size_t>(op.inputs[0])];
            linear_op_u8(op, x, src, logits + img * classes);
            return;
        }
        const auto t = static_cast<size_t>(op.output);
        uint8_t* out = ws.a.data() + net.offset_[t];
        ws.tensors[t] = out;
        const int32_t p = net.point_of_tensor_[t];
        if (p < 0) {
            run_kernel(i, src, out, nullptr, ws);
            if (keep != nullptr && (*keep)[t] != nullptr) {
                const int64_t count = g.tensors[t].size();
                std::copy(out, out + count, (*keep)[t] + img * count);
            }
            return;
        }
        const auto pi = static_cast<size_t>(p);
        const int64_t count = g.tensors[t].size();
        if (maps != nullptr) {
            run_kernel(i, src, out, nullptr, ws);
            map_point(pi, out, count, ws);
            if (reference != nullptr) {
                ws.sq_error[pi] += squared_error(out, (*reference)[pi] + img * count, count);
            }
        } else {
            table_point(i, pi, img, src, out, count, ws);
        }
    }

    /// The kernel of op `i` (not the classifier): `src` -> `out`. A packed conv applies `lut`
    /// (null: none) to its output codes; returns whether it did so for a non-null `lut`.
    bool run_kernel(
        size_t i, const uint8_t* src, uint8_t* out, const uint8_t* lut, Workspace& ws) const {
        const models::Int8Op& op = g.ops[i];
        const models::Int8Tensor& x = g.tensors[static_cast<size_t>(op.inputs[0])];
        const models::Int8Tensor& y = g.tensors[static_cast<size_t>(op.output)];
        switch (op.kind) {
        case models::Int8OpKind::Conv:
            if (net.packed_[i] != nullptr) {
                net.packed_[i]->run_with(net.isa_, src, x.height, x.width, out, lut, ws.scratch);
                return lut != nullptr;
            }
            conv_u8(op, x, y, src, out, ws.acc);
            break;
        case models::Int8OpKind::Add:
            add_u8(net.isa_, op, x, g.tensors[static_cast<size_t>(op.inputs[1])], y, src,
                   ws.tensors[static_cast<size_t>(op.inputs[1])], out);
            break;
        case models::Int8OpKind::MaxPool:
            if (op.kernel == 2 && op.stride == 2 && x.height % 2 == 0 && x.width % 2 == 0) {
                maxpool2x2_u8(src, x.channels, x.height, x.width, out);
            } else {
                maxpool_u8(op, x, y, src, out);
            }
            break;
        case models::Int8OpKind::AvgPool:
        case models::Int8OpKind::GlobalAvgPool:
            avgpool_u8(net.isa_, op, x, y, src, out);
            break;
        case models::Int8OpKind::Linear:
            break;
        }
        return false;
    }

    /// forward_counted's point `point`: its map over the op's output `out`, counted.
    void map_point(size_t point, uint8_t* out, int64_t count, Workspace& ws) const {
        apply_map(net.isa_, out, out, count, (*maps)[point], counts ? &ws.counts[point] : nullptr);
    }

    /// Sum of (a[k] - b[k])^2 over k < count: at most 255^2 per code, exact in int64 (per
    /// image, a point holds far fewer than 2^47 codes).
    static int64_t squared_error(const uint8_t* a, const uint8_t* b, int64_t count) {
        int64_t sum = 0;
        for (int64_t k = 0; k < count; ++k) {
            const int32_t d = int32_t{a[k]} - int32_t{b[k]};
            sum += d * d;
        }
        return sum;
    }

    /// forward's and forward_blocks' point `point`, made by op `i`: its histogram and copy
    /// of the op's output, then its table. With neither histogram nor copy due, a packed conv
    /// applies the table itself.
    void table_point(size_t i,
                     size_t point,
                     int64_t img,
                     const uint8_t* src,
                     uint8_t* out,
                     int64_t count,
                     Workspace& ws) const {
        const uint8_t* table = tables.empty() ? nullptr : tables[point];
        uint8_t* copy = keep != nullptr ? (*keep)[static_cast<size_t>(g.ops[i].output)] : nullptr;
        const bool plain = !histograms && copy == nullptr;
        if (run_kernel(i, src, out, plain ? table : nullptr, ws)) {
            table = nullptr; // applied
        }
        if (histograms) {
            add_histogram(out, count, ws.histograms[point]);
        }
        if (copy != nullptr) {
            std::copy(out, out + count, copy + img * count);
        }
        if (table != nullptr) {
            for (int64_t k = 0; k < count; ++k) {
                out[k] = table[out[k]];
            }
        }
    }

    /// Adds this thread's histograms / counts to the caller's (integer sums: the order in
    /// which the threads add does not matter).
    void add_thread_sums(const Workspace& ws,
                         std::vector<CodeHistogram>* total_histograms,
                         std::vector<MapCounts>* total_counts,
                         std::vector<int64_t>* total_sq_error) const {
        if (!histograms && !counts && reference == nullptr) {
            return;
        }
#pragma omp critical(triseg_int8_sums)
        for (size_t i = 0; i < layers; ++i) {
            if (histograms) {
                for (size_t c = 0; c < 256; ++c) {
                    (*total_histograms)[i][c] += ws.histograms[i][c];
                }
            }
            if (counts) {
                (*total_counts)[i] += ws.counts[i];
            }
            if (reference != nullptr) {
                (*total_sq_error)[i] += ws.sq_error[i];
            }
        }
    }
};

void Int8Network::run(int64_t first,
                      const uint8_t* const* starts,
                      int64_t n,
                      float* logits,
                      const Mapping& mapping,
                      const std::vector<uint8_t*>* tensor_outputs,
                      int threads) const {
    const auto layers = static_cast<size_t>(num_layers());
    static const std::vector<const uint8_t*> kNoTables;
    static constexpr int32_t kInput = 0;
    const std::vector<const uint8_t*>& tables =
        mapping.tables != nullptr ? *mapping.tables : kNoTables;
    std::vector<CodeHistogram>* histograms = mapping.histograms;
    std::vector<MapCounts>* counts = mapping.counts;
    TRISEG_CHECK(tables.empty() || tables.size() == layers, InputError,
                 "got " << tables.size() << " code tables for a network of " << layers
                        << " layers (approximation points)");
    if (histograms != nullptr) {
        histograms->assign(layers, CodeHistogram{});
    }
    if (counts != nullptr) {
        counts->assign(layers, MapCounts{});
    }
    TRISEG_CHECK((mapping.reference == nullptr) == (mapping.sq_error == nullptr) &&
                     (mapping.reference == nullptr || (first < 0 && mapping.maps != nullptr)),
                 InputError, "reference codes need maps, a sum per point and a full forward");
    if (mapping.sq_error != nullptr) {
        mapping.sq_error->assign(layers, 0);
    }
    const Pass pass{*this,
                    graph_,
                    first,
                    starts,
                    logits,
                    tables,
                    mapping.maps,
                    histograms != nullptr,
                    counts != nullptr,
                    mapping.reference,
                    tensor_outputs,
                    layers,
                    first < 0 ? &kInput : live_[static_cast<size_t>(first)].data(),
                    first < 0 ? 1 : live_[static_cast<size_t>(first)].size(),
                    first < 0 ? 0
                              : static_cast<size_t>(op_of_point_[static_cast<size_t>(first)]) + 1,
                    num_classes()};
    const int team = threads > 0 ? threads : omp_get_max_threads();
    // Exceptions must not cross the OpenMP region: keep the first and rethrow after it.
    std::exception_ptr failure;

#pragma omp parallel num_threads(team)
    {
        Workspace& ws = thread_workspace();
        pass.begin_thread(ws);
#pragma omp for schedule(static)
        for (int64_t img = 0; img < n; ++img) {
            try {
                pass.run_image(img, ws);
            } catch (...) {
#pragma omp critical(triseg_int8_failure)
                if (!failure) {
                    failure = std::current_exception();
                }
            }
        }
        pass.add_thread_sums(ws, histograms, counts, mapping.sq_error);
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

} // namespace triseg::engine
