// Shared pieces of the analysis commands.
#include "cli/analysis_common.h"

#include <algorithm>
#include <ctime>

#include "common/error.h"
#include "common/option_checks.h"
#include "common/progress.h"
#include "common/shell_quote.h"
#include "engine/train/batching.h"
#include "io/atomic_file.h"
#include "io/dataset_factory.h"

namespace triseg::cli {

std::string tool_version() {
    return std::string("triseg ") + TRISEG_VERSION;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string resolve_input(const RunDir& run,
                          const std::string& explicit_path,
                          const std::string& relative,
                          const std::string& hint) {
    const std::string path = explicit_path.empty() ? run.file(relative) : explicit_path;
    TRISEG_CHECK(io::file_exists(path), IoError,
                 "'" << path << "' does not exist" << (explicit_path.empty() ? "; " + hint : ""));
    return path;
}

Int8Model load_int8_model(const RunDir& run, const std::string& explicit_path) {
    const std::string path =
        resolve_input(run, explicit_path, RunDir::kInt8Model,
                      "run `triseg export-int8 --run-dir " + shell_quote(run.path()) + "` first");
    engine::Int8Network net = engine::load_int8_network(path);
    std::vector<std::string> names;
    names = net.layer_names();
    return Int8Model{path, std::move(net), std::move(names)};
}

namespace {

io::ImageDataset pick_split(io::DatasetSplits& data, const std::string& split) {
    TRISEG_CHECK(split == "test" || split == "val" || split == "train", ConfigError,
                 "--split must be test, val or train, got '" << split << "'");
    io::ImageDataset set = split == "test"  ? std::move(data.test)
                           : split == "val" ? std::move(data.val)
                                            : std::move(data.train);
    TRISEG_CHECK(set.count > 0, ConfigError,
                 "the " << split << " split is empty (set data.val_size > 0 for val)");
    return set;
}

} // namespace

SplitData load_split(const RunDir& run, const std::string& split, int64_t batch) {
    const auto& cfg = run.config();
    auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    SplitData s;
    s.set = pick_split(data, split);
    s.opts = io::make_loader_options(cfg.data, data, batch, false,
                                     static_cast<uint64_t>(cfg.runtime.seed));
    return s;
}

engine::Int8Inputs load_int8_inputs(const RunDir& run,
                                    const engine::Int8Network& net,
                                    const std::string& split,
                                    int64_t limit) {
    const auto& cfg = run.config();
    auto data = io::load_dataset(cfg.data, static_cast<uint64_t>(cfg.runtime.seed));
    io::ImageDataset set = pick_split(data, split);
    if (limit > 0 && limit < set.count) {
        std::vector<int64_t> first(static_cast<size_t>(limit));
        for (int64_t i = 0; i < limit; ++i) {
            first[static_cast<size_t>(i)] = i;
        }
        set = set.subset(first, "");
    }
    const auto opts = io::make_loader_options(cfg.data, data, cfg.train.eval_batch_size, false,
                                              static_cast<uint64_t>(cfg.runtime.seed));
    return engine::quantize_dataset(net, set, opts);
}

std::vector<engine::CodeHistogram>
teacher_histograms(const engine::Int8Network& net, const engine::Int8Inputs& inputs, int threads) {
    std::vector<engine::CodeHistogram> h;
    std::vector<float> logits(static_cast<size_t>(inputs.count * net.num_classes()));
    net.forward(inputs.codes.data(), inputs.count, logits.data(), {}, &h, threads);
    return h;
}

std::vector<engine::CodeHistogram> dump_histograms(const io::ActsReader& dump, int64_t batch) {
    const auto& h = dump.header();
    TRISEG_CHECK(h.kind == io::ActsKind::Int8, InputError,
                 "activation dump '" << dump.path() << "' holds float activations; histograms of "
                                     << "codes need an int8 dump (dump-acts --kind int8)");
    std::vector<engine::CodeHistogram> out(h.layers.size(), engine::CodeHistogram{});
    std::vector<uint8_t> buf;
    ProgressBar bar("histograms", static_cast<int64_t>(h.layers.size()) * h.images, "codes/img");
    int64_t done = 0;
    for (size_t i = 0; i < h.layers.size(); ++i) {
        for (int64_t first = 0; first < h.images; first += batch) {
            const int64_t n = std::min(batch, h.images - first);
            buf.resize(static_cast<size_t>(n * h.layers[i].size()));
            dump.read_codes(i, first, n, buf.data());
            for (uint8_t c : buf) {
                ++out[i][c];
            }
            done += n;
            bar.update(done, h.layers[i].name);
        }
    }
    return out;
}

void check_batch(int64_t batch) {
    detail::check_range<int64_t>("--batch", batch, 1, kMaxBatch);
}

void check_images(int64_t images) {
    detail::check_range<int64_t>("--images", images, 0, kMaxImages);
}

} // namespace triseg::cli
