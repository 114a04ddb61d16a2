// `triseg dump-acts`.
#include "cli/cmd_dump_acts.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "cli/analysis_common.h"
#include "cli/config/config.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/shell_quote.h"
#include "engine/analysis/float_blocks.h"
#include "engine/analysis/replay.h"
#include "engine/dist/cluster.h"
#include "engine/dist/collective.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "io/h5_activations.h"
#include "io/model_yaml.h"
#include "io/stage_lock.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Write every block output (after ReLU, before the pool; all conv layers; on a graph model\n"
    "every approximation point, named as in codes files) for the first N images of a split\n"
    "into one HDF5 file: uint8 codes with scale and zero_point attributes (--kind int8, the\n"
    "exact integer teacher) or float32 (--kind float: the float model, BatchNorm unfolded, at\n"
    "the same points on every network), with labels, image indices and provenance. An int8\n"
    "dump of a residual or MobileNetV2 graph also stores, under /live, the tensors that are\n"
    "not points but cross a point (skips, linear bottlenecks), so that `triseg replay` can\n"
    "start from every point. Chunked, gzip-compressed, written batch by\n"
    "batch (memory stays bounded). Under mpirun/srun each rank writes its contiguous share of\n"
    "the images to <out stem>.shard-<r>-of-<n>.h5 and rank 0 writes <out> as an index whose\n"
    "datasets are HDF5 virtual datasets over the shards, so the index reads as one dump\n"
    "(h5py, h5dump, triseg replay). Schema: docs/activations.md.";

/// The block outputs of one batch, from either model.
class Source {
public:
    virtual ~Source() = default;
    virtual io::ActsHeader layers() const = 0;
    /// Fills `values` (one buffer per layer) for the batch; returns pointers to them.
    virtual std::vector<const void*> run(const io::Batch& batch) = 0;
};

class Int8Source final : public Source {
public:
    Int8Source(Int8Model model, int threads) : m_(std::move(model)), threads_(threads) {}

    io::ActsHeader layers() const override {
        io::ActsHeader h;
        h.kind = io::ActsKind::Int8;
        h.layers = engine::dump_layers(m_.net);
        h.live = engine::dump_live(m_.net);
        return h;
    }

    /// Every point's codes, then the other live tensors (engine::dump_live), for the batch.
    std::vector<const void*> run(const io::Batch& batch) override {
        const auto& net = m_.net;
        const auto n = static_cast<size_t>(batch.size);
        codes_.resize(n * static_cast<size_t>(net.input_size()));
        net.quantize(batch.images.data(), batch.size, codes_.data());
        logits_.resize(n * static_cast<size_t>(net.num_classes()));
        std::vector<int32_t> stored;
        for (int64_t i = 0; i < net.num_layers(); ++i) {
            stored.push_back(net.live_tensors(i)[0]);
        }
        stored.insert(stored.end(), net.live_non_points().begin(), net.live_non_points().end());
        outputs_.resize(stored.size());
        std::vector<uint8_t*> keep(net.graph().tensors.size(), nullptr);
        std::vector<const void*> out;
        for (size_t i = 0; i < stored.size(); ++i) {
            const auto t = static_cast<size_t>(stored[i]);
            outputs_[i].resize(n * static_cast<size_t>(net.graph().tensors[t].size()));
            keep[t] = outputs_[i].data();
            out.push_back(outputs_[i].data());
        }
        net.forward_tensors(codes_.data(), batch.size, logits_.data(), keep, {}, threads_);
        return out;
    }

    const std::string& path() const { return m_.path; }

private:
    Int8Model m_;
    int threads_;
    std::vector<uint8_t> codes_;
    std::vector<float> logits_;
    std::vector<std::vector<uint8_t>> outputs_;
};

class FloatSource final : public Source {
public:
    explicit FloatSource(const std::string& path) : blocks_(path) {}

    io::ActsHeader layers() const override {
        io::ActsHeader h;
        h.kind = io::ActsKind::Float;
        for (int64_t i = 0; i < blocks_.num_layers(); ++i) {
            h.layers.push_back({blocks_.name(i), blocks_.channels(i), blocks_.side(i),
                                blocks_.pool_after(i), 0.0f, 0});
        }
        return h;
    }

    std::vector<const void*> run(const io::Batch& batch) override {
        const auto n = static_cast<size_t>(batch.size);
        logits_.resize(n * static_cast<size_t>(blocks_.options().num_classes));
        outputs_.resize(static_cast<size_t>(blocks_.num_layers()));
        std::vector<float*> ptrs;
        std::vector<const void*> out;
        for (size_t i = 0; i < outputs_.size(); ++i) {
            const auto b = static_cast<int64_t>(i);
            outputs_[i].resize(
                n * static_cast<size_t>(blocks_.channels(b) * blocks_.side(b) * blocks_.side(b)));
            ptrs.push_back(outputs_[i].data());
            out.push_back(outputs_[i].data());
        }
        blocks_.run(batch.images.data(), batch.size, ptrs, logits_.data());
        return out;
    }

private:
    engine::FloatBlocks blocks_;
    std::vector<float> logits_;
    std::vector<std::vector<float>> outputs_;
};

} // namespace

void add_dump_acts_options(po::options_description& desc, DumpActsArgs& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("kind", po::value(&args.kind)->value_name("KIND")->default_value("int8"),
        "int8 (uint8 codes of the exact integer model) or float (float32 of the float model)");
    add("model,m", po::value(&args.model_file)->value_name("FILE"),
        "model to run (default: <run-dir>/int8/model.h5, or <run-dir>/float/model.pt); the "
        "older `--model int8|float` is read as --kind, with a note");
    add("model-file", po::value(&args.model_file)->value_name("FILE"),
        "the older spelling of --model (a model file in every command)");
    add("split", po::value(&args.split)->value_name("NAME")->default_value("test"),
        "test, val (needs data.val_size > 0) or train");
    add("images,n",
        in_range<int64_t>(args.images, "images", 0, kMaxImages)->value_name("N")->default_value(0),
        "dump the first N images of the split (0 = all)");
    add("out,o", po::value(&args.out)->value_name("FILE"),
        "output file (default: <run-dir>/acts/acts_<model>.h5)");
    add("compression",
        in_range(args.compression, "compression", 0, 9)->value_name("LEVEL")->default_value(4),
        "gzip level 0..9 (0 = uncompressed)");
    add("batch",
        in_range<int64_t>(args.batch, "batch", 1, kMaxBatch)->value_name("N")->default_value(256),
        "images per forward pass and per write");
}

int run_dump_acts(const DumpActsArgs& given) {
    DumpActsArgs args = given;
    if (args.model_file == "int8" || args.model_file == "float") {
        // The spelling before --model meant a file in every command.
        std::fprintf(stderr,
                     "note: `--model %s` is the older spelling of `--kind %s`; --model now names "
                     "a model file, as in the other commands\n",
                     args.model_file.c_str(), args.model_file.c_str());
        args.kind = args.model_file;
        args.model_file.clear();
    }
    TRISEG_CHECK(args.kind == "int8" || args.kind == "float", ConfigError,
                 "--kind must be int8 or float, got '" << args.kind << "'");
    check_images(args.images);
    detail::check_range("--compression", args.compression, 0, 9);
    check_batch(args.batch);
    const auto start = std::chrono::steady_clock::now();
    auto cluster = engine::make_cluster(engine::ClusterKind::Auto, "dump-acts");
    const int rank = cluster->rank();
    const int size = cluster->size();
    const RunDir run(args.config);
    const auto& cfg = run.config();
    const int threads = static_cast<int>(engine::configure_threads(cfg.runtime.threads));

    std::unique_ptr<Source> source;
    std::string model_path;
    if (args.kind == "int8") {
        auto m = load_int8_model(run, args.model_file);
        model_path = m.path;
        source = std::make_unique<Int8Source>(std::move(m), threads);
    } else {
        model_path = resolve_input(run, args.model_file, "float/model.pt",
                                   "run `triseg train-float --run-dir " + shell_quote(run.path()) +
                                       "` first");
        source = std::make_unique<FloatSource>(model_path);
    }
    const SplitData split = load_split(run, args.split, args.batch);
    const int64_t total =
        args.images > 0 ? std::min(args.images, split.set.count) : split.set.count;
    TRISEG_CHECK(total >= size, ConfigError,
                 "cannot share " << total << " images among " << size << " ranks");
    const int64_t lo = total * rank / size;
    const int64_t hi = total * (rank + 1) / size;

    io::ActsHeader header = source->layers();
    header.images = hi - lo;
    // Absolute, so that replay finds it from any folder; by content, so that replay can
    // refuse another model that happens to share the quantization parameters.
    header.model = std::filesystem::absolute(model_path).lexically_normal().string();
    header.model_sha256 = io::sha256_file(model_path);
    header.model_yaml = io::model_to_yaml(cfg.model);
    header.config = cli::to_yaml(cfg);
    header.dataset = split.set.name;
    header.tool_version = tool_version();
    header.created = utc_now();
    header.shard_rank = rank;
    header.shard_count = size;
    header.first_image = lo;
    header.compression = args.compression;
    engine::Bytes dump_id; // one identity for the index and every shard
    if (rank == 0) {
        const std::string id = io::new_dump_id();
        dump_id.assign(id.begin(), id.end());
    }
    cluster->broadcast(dump_id);
    header.dump_id.assign(dump_id.begin(), dump_id.end());

    const std::string out =
        args.out.empty() ? run.stage_dir("acts") + "/acts_" + args.kind + ".h5" : args.out;
    const std::filesystem::path folder = std::filesystem::path(out).parent_path();
    const std::string file =
        size == 1 ? out : (folder / io::shard_file_name(out, rank, size)).string();

    // Rank 0 holds the lock of the output (index and shards) for the job.
    std::optional<io::StageLock> lock;
    engine::run_collectively(*cluster, [&] {
        if (rank == 0) {
            lock.emplace(out, io::StageLock::Scope::File, "dump-acts");
        }
    });
    engine::run_collectively(*cluster, [&] {
        io::ensure_directory(folder.empty() ? "." : folder.string());
        std::vector<int64_t> indices(static_cast<size_t>(hi - lo));
        for (int64_t i = lo; i < hi; ++i) {
            indices[static_cast<size_t>(i - lo)] = i;
        }
        const io::ImageDataset mine = split.set.subset(indices, "");
        io::BatchLoader loader(mine, split.opts);
        loader.start_epoch(0);
        io::ActsWriter writer(file, header);
        ProgressBar bar("dump-acts", hi - lo, "img", rank == 0);
        io::Batch batch;
        std::vector<int64_t> positions;
        while (loader.next(batch)) {
            const auto values = source->run(batch);
            positions.resize(static_cast<size_t>(batch.size));
            for (int64_t i = 0; i < batch.size; ++i) {
                positions[static_cast<size_t>(i)] = lo + batch.indices[static_cast<size_t>(i)];
            }
            writer.append(batch.size, batch.labels.data(), positions.data(), values);
            bar.update(writer.written());
        }
        writer.commit();
    });
    if (size > 1) {
        engine::run_collectively(*cluster, [&] {
            if (rank == 0) {
                io::ActsHeader whole = header;
                whole.images = total;
                io::write_acts_index(out, whole);
            }
        });
    }
    if (rank == 0) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::uintmax_t bytes = std::filesystem::file_size(out);
        for (int r = 1; r < size; ++r) {
            bytes += std::filesystem::file_size(folder / io::shard_file_name(out, r, size));
        }
        if (size > 1) {
            bytes += std::filesystem::file_size(folder / io::shard_file_name(out, 0, size));
        }
        std::printf("dumped %s activations of %lld %s images, %zu layers, in %.1f s on %d "
                    "rank(s): %s (%.1f MB%s)\n",
                    args.kind.c_str(), static_cast<long long>(total), split.set.name.c_str(),
                    header.layers.size(), seconds, size, out.c_str(),
                    static_cast<double>(bytes) / 1e6, size > 1 ? ", index + shards" : "");
    }
    return 0;
}

int main_dump_acts(const std::vector<std::string>& argv) {
    return parse_and_run<DumpActsArgs>("dump-acts", kSummary, add_dump_acts_options, run_dump_acts,
                                       argv);
}

} // namespace triseg::cli
