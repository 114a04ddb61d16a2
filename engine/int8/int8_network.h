// Int8Network: exact integer inference of an exported model, with optional code tables.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/code_set.h"
#include "engine/int8/code_map.h"
#include "models/spec/int8_graph.h"
#include "models/spec/int8_model.h"

namespace triseg::engine {

class ConvKernel;
enum class KernelIsa; // engine/int8/int8_kernels.h

/// The teacher (no tables) and the search student (a table at each approximation point) in one.
///
///     codes = quantize(normalized image)                        # the input tensor
///     for each op of the graph, in order: its output tensor = op(its input tensors);
///         when the output is approximation point i: output = table_i[output]
///     logits = classifier(its input tensor)
///
/// A "block" or "layer" below is an approximation point (models::Int8Tensor::point), in
/// forward order: for a VGG chain, block i is conv layer i. Every step is integer arithmetic
/// (docs/int8-model.md, engine/core/requant.h), so the results are identical on every machine
/// and for any thread count. Images are processed in parallel (OpenMP), each by one thread.
///
/// Convs with a fast kernel (make_conv_kernel, engine/int8/conv_kernel.h: 3x3 one-group with
/// padding 1 and any stride, 1x1 one-group, 3x3 depthwise; any output clamp) run it on the
/// KernelIsa chosen, and so do the adds and global average pools (engine/int8/graph_kernels.h);
/// every other op runs the portable kernels of engine/int8/graph_kernels.h.
class Int8Network {
public:
    /// Packs the weights of a VGG chain (graph_from_chain). @throws InputError when the
    /// model is inconsistent.
    explicit Int8Network(models::Int8Model model);
    /// Packs the weights of any graph. @throws InputError when validate_graph rejects it.
    explicit Int8Network(models::Int8Graph graph);
    ~Int8Network();
    Int8Network(Int8Network&&) noexcept;
    Int8Network& operator=(Int8Network&&) noexcept;

    /// Runs the conv layers, adds and global average pools on `isa` from now on instead of
    /// best_kernel_isa() (for tests and benchmarks: every KernelIsa gives the same bits). Not
    /// thread-safe with forward().
    /// @throws InputError when this CPU cannot run `isa`.
    void use_kernel_isa(KernelIsa isa);
    /// The instruction set forward() runs (best_kernel_isa() unless use_kernel_isa was called).
    KernelIsa kernel_isa() const { return isa_; }

    const models::Int8Graph& graph() const { return graph_; }
    /// The `model` config section the network was exported from.
    const models::ModelOptions& model_options() const { return graph_.model; }
    /// Whether the graph is a VGG chain (models::is_chain).
    bool is_chain() const { return chain_ != nullptr; }
    /// The VGG chain. @throws InputError naming the stage's need when the graph is not one.
    const models::Int8Model& model() const;

    /// Codes per input image (C * H * W).
    int64_t input_size() const;
    int64_t num_classes() const;
    /// Approximation points (blocks).
    int64_t num_layers() const { return static_cast<int64_t>(points_.size()); }
    /// The points' names in forward order (the keys of codes files).
    const std::vector<std::string>& layer_names() const { return names_; }
    /// Point `block`'s tensor. @throws InputError when `block` is not in [0, num_layers()).
    const models::Int8Tensor& block_tensor(int64_t block) const;

    /// Output codes per image of block `block` (channels * height * width).
    /// @throws InputError when `block` is not in [0, num_layers()).
    int64_t block_output_size(int64_t block) const;
    /// Height of block `block`'s output feature map (for VGG, its side before its pool).
    int64_t block_side(int64_t block) const;

    /// Int8 multiply-accumulates per image of the op that makes block `block` (models::op_macs:
    /// every output position, padding included).
    /// @throws InputError when `block` is not in [0, num_layers()).
    int64_t conv_macs(int64_t block) const;
    /// Int8 multiply-accumulates per image of the classifier (in_features * out_features).
    int64_t classifier_macs() const;
    /// MACs per image of forward() (every op).
    int64_t forward_macs() const;
    /// MACs per image of forward_from(first, ...): the ops after the one that makes block
    /// `first` (that op ran when its stored output was made).
    /// @throws InputError when `first` is not in [0, num_layers()).
    int64_t forward_from_macs(int64_t first) const;

    /// The live set of point `block`: every tensor made by the op of the point or by an earlier
    /// op (the input included) and read by a later op, i.e. what the suffix after the point
    /// needs. The point's own tensor comes first, then the others in tensor order. For a VGG
    /// chain it is the point alone; in a residual network it adds the skip connections that
    /// cross the point; in MobileNetV2 the block input (a linear bottleneck output, not a
    /// point) across the expansion and depthwise points. Tensor indices into graph().tensors.
    /// @throws InputError when `block` is not in [0, num_layers()).
    const std::vector<int32_t>& live_tensors(int64_t block) const;
    /// Codes per image of each tensor of live_tensors(block), in that order.
    std::vector<int64_t> live_sizes(int64_t block) const;
    /// The tensors that are live at some point's cut and are not points (in tensor order):
    /// with every point's output, what forward_from needs to start from any point.
    const std::vector<int32_t>& live_non_points() const { return live_non_points_; }
    /// Whether the live set of `block` is the block's own output alone, so that the
    /// single-buffer forward_from(block, codes, ...) applies (every block of a VGG chain; in a
    /// residual network, the block outputs that no skip connection crosses).
    /// @throws InputError when `block` is not in [0, num_layers()).
    bool replayable(int64_t block) const;

    /// Quantizes `n` normalized float images (NCHW) to input codes [n][input_size].
    void quantize(const float* images, int64_t n, uint8_t* codes) const;

    /// Logits [n][num_classes] of `n` images given as input codes [n][input_size].
    /// @param tables empty (the teacher), or one entry per block: a 256-entry table or null.
    /// @param histograms when not null, set to one histogram per block of the block's output
    ///        codes before its table (summed over all images and positions).
    /// @param threads OpenMP threads (0 = the current OpenMP default).
    /// @throws InputError when `tables` has the wrong length.
    void forward(const uint8_t* codes,
                 int64_t n,
                 float* logits,
                 const std::vector<const uint8_t*>& tables = {},
                 std::vector<CodeHistogram>* histograms = nullptr,
                 int threads = 0) const;

    /// forward() that also copies every block's output codes (before its table and pool) of
    /// every image into `block_outputs[i]` ([n][block_output_size(i)]); a null entry skips that
    /// block. Logits and histograms are exactly those of forward() with the same arguments.
    /// @throws InputError when `block_outputs` does not have one entry per block.
    void forward_blocks(const uint8_t* codes,
                        int64_t n,
                        float* logits,
                        const std::vector<uint8_t*>& block_outputs,
                        const std::vector<const uint8_t*>& tables = {},
                        int threads = 0) const;

    /// forward() that also copies any tensor's codes of every image: `tensor_outputs` has one
    /// entry per graph tensor (null: skip it), tensor t's codes go to [n][tensors[t].size()];
    /// a point's are its codes before its table (as forward_blocks copies them), tensor 0's the
    /// input codes. Storing every point and live_non_points() is what forward_from needs from
    /// any point. @throws InputError when `tensor_outputs` does not have one entry per tensor.
    void forward_tensors(const uint8_t* codes,
                         int64_t n,
                         float* logits,
                         const std::vector<uint8_t*>& tensor_outputs,
                         const std::vector<const uint8_t*>& tables = {},
                         int threads = 0) const;

    /// The suffix of the network from the live set of point `first`: `live[j]` holds the codes
    /// of live_tensors(first)[j] of `n` images ([n][live_sizes(first)[j]]), as forward_tensors
    /// stores them: a point's before its table. Applies the table of every point in the live
    /// set (tables[first] to the point itself, and to an earlier point that a skip carries
    /// across, its own table, as the full forward did), then the ops after the one that makes
    /// `first`, with their tables, then the classifier, so that
    ///     forward_from(k, live set of k stored by forward_tensors(codes, tables'), tables)
    ///         == forward(codes, tables)
    /// bit for bit whenever tables' and tables agree on the points before k (the live tensors
    /// depend on those alone). `histograms` (when not null) covers blocks first+1 ... only
    /// (the others stay zero). @throws InputError when `first`, `live` or `tables` is out of
    /// range.
    void forward_from(int64_t first,
                      const std::vector<const uint8_t*>& live,
                      int64_t n,
                      float* logits,
                      const std::vector<const uint8_t*>& tables = {},
                      std::vector<CodeHistogram>* histograms = nullptr,
                      int threads = 0) const;

    /// forward_from() for a block whose live set is the block alone (replayable()): `codes`
    /// are block `first`'s output codes ([n][block_output_size(first)], before its table and
    /// pool, as forward_blocks stores them). @throws InputError when `first` or `tables` is out
    /// of range, or when `first` is not replayable() (pass its live set instead).
    void forward_from(int64_t first,
                      const uint8_t* codes,
                      int64_t n,
                      float* logits,
                      const std::vector<const uint8_t*>& tables = {},
                      std::vector<CodeHistogram>* histograms = nullptr,
                      int threads = 0) const;

    /// The search's forward: forward() with the tables make_table(maps[i]) (one valid map
    /// per block, validate_map), which also counts what each map does. `counts` (when not
    /// null) is set to one MapCounts per block of the block's output codes before its map,
    /// summed over all images and positions: exactly map_counts(histogram of forward(),
    /// maps[i]), but the map and the counts are one vector pass over the conv's output instead
    /// of a histogram pass and a table pass. Logits are forward()'s bit for bit.
    /// @throws InputError when `maps` has the wrong length or holds an invalid map.
    void forward_counted(const uint8_t* codes,
                         int64_t n,
                         float* logits,
                         const std::vector<LayerCodes>& maps,
                         std::vector<MapCounts>* counts,
                         int threads = 0) const;

    /// forward_counted() that also compares each point's codes after its map with reference
    /// codes of the same images: `reference` holds one buffer per point ([n][point size], e.g.
    /// the exact teacher's codes from forward_tensors), and `sq_error` is set to one sum per
    /// point of (mapped code - reference code)^2 over all images and positions (exact int64
    /// sums, so the result does not depend on threads). Logits and counts are
    /// forward_counted()'s bit for bit.
    /// @throws InputError as forward_counted, or when `reference` does not hold one buffer per
    /// point.
    void forward_compared(const uint8_t* codes,
                          int64_t n,
                          float* logits,
                          const std::vector<LayerCodes>& maps,
                          std::vector<MapCounts>* counts,
                          const std::vector<const uint8_t*>& reference,
                          std::vector<int64_t>& sq_error,
                          int threads = 0) const;

    /// forward_from() with maps, counting as forward_counted: `counts` covers blocks
    /// first+1 ... only (the others stay zero; block `first`'s are the stored codes'). The
    /// maps of the points in the live set are applied to their stored codes, uncounted.
    /// @throws InputError when `first` or `live` is out of range, or `maps` as forward_counted.
    void forward_from_counted(int64_t first,
                              const std::vector<const uint8_t*>& live,
                              int64_t n,
                              float* logits,
                              const std::vector<LayerCodes>& maps,
                              std::vector<MapCounts>* counts,
                              int threads = 0) const;
    /// The same for a replayable() block, from its output codes alone.
    void forward_from_counted(int64_t first,
                              const uint8_t* codes,
                              int64_t n,
                              float* logits,
                              const std::vector<LayerCodes>& maps,
                              std::vector<MapCounts>* counts,
                              int threads = 0) const;

private:
    /// What a block's output codes go through: a table (and histograms), or a map (and counts).
    struct Mapping {
        const std::vector<const uint8_t*>* tables = nullptr; ///< empty or one per block
        std::vector<CodeHistogram>* histograms = nullptr;
        const std::vector<LayerCodes>* maps = nullptr; ///< null or one per block
        std::vector<MapCounts>* counts = nullptr;
        /// null or one buffer per point ([n][point size]) to compare the mapped codes with
        const std::vector<const uint8_t*>* reference = nullptr;
        std::vector<int64_t>* sq_error = nullptr; ///< with `reference`: one sum per point
    };

    /// One call of run(): its plan and the steps of one image (int8_network_run.cpp).
    struct Pass;

    /// The one loop behind every forward: `first` == -1 starts from input codes (`starts`
    /// points to them), otherwise from point `first`'s stored live set (`starts`: one buffer
    /// per live tensor, checked by the caller). `tensor_outputs`: null or one copy target (or null)
    /// per tensor. Images run in parallel, each by one thread.
    void run(int64_t first,
             const uint8_t* const* starts,
             int64_t n,
             float* logits,
             const Mapping& mapping,
             const std::vector<uint8_t*>* tensor_outputs,
             int threads) const;

    /// Checks that `first` is a block to replay from.
    void check_first(int64_t first) const;
    /// Checks `first` and that `live` has one buffer per live tensor of `first`.
    void check_live(int64_t first, const std::vector<const uint8_t*>& live) const;
    /// Checks `first` and that its live set is the point alone (the single-buffer replays).
    void check_alone(int64_t first) const;

    /// Checks `maps` (one valid map per block) for forward_counted / forward_from_counted.
    void check_maps(const std::vector<LayerCodes>& maps) const;

    /// Sets up the points, the packed convs and the buffer plan of graph_ (validated).
    void prepare();
    void check_block(int64_t block, const char* what) const;

    models::Int8Graph graph_;
    std::unique_ptr<models::Int8Model> chain_; ///< the graph as a VGG chain, when it is one
    std::vector<int32_t> points_;              ///< point tensors in forward order
    std::vector<std::string> names_;           ///< their names
    std::vector<int32_t> point_of_tensor_;     ///< per tensor: its point index, or -1
    std::vector<int64_t> op_of_point_;         ///< per point: the op that makes it
    std::vector<std::vector<int32_t>> live_;   ///< per point: its live set (live_tensors)
    std::vector<int32_t> live_non_points_;     ///< live at some cut, not a point
    /// per op: its fast conv (make_conv_kernel), or null
    std::vector<std::unique_ptr<ConvKernel>> packed_;
    std::vector<int64_t> offset_; ///< per tensor: its buffer's offset in an image's arena
    int64_t arena_ = 0;           ///< bytes of one image's arena
    KernelIsa isa_;
};

/// The network of the int8 model file `path` (io::read_int8_model, then Int8Network).
/// @throws what read_int8_model throws; InputError naming `path` when the file holds a model
/// the integer runtime cannot run (a bias and weights that can overflow the int32 accumulator,
/// mismatched shapes), with the fix.
Int8Network load_int8_network(const std::string& path);

} // namespace triseg::engine
