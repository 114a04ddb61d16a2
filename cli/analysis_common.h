// Shared pieces of the analysis commands (dump-acts, collect-percentiles, analyze-*, replay):
// the run's integer model, a split as integer inputs, histograms, provenance strings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/run_dir.h"
#include "engine/int8/int8_inputs.h"
#include "engine/int8/int8_network.h"
#include "io/batch_loader.h"
#include "io/h5_activations.h"
#include "io/image_dataset.h"

namespace triseg::cli {

/// "triseg <version>".
std::string tool_version();

/// The current UTC time, ISO 8601 ("2024-05-01T12:00:00Z").
std::string utc_now();

/// `explicit_path`, or else `<run-dir>/<relative>`; the file must exist.
/// @throws IoError naming the file and `hint` (the command that makes it).
std::string resolve_input(const RunDir& run,
                          const std::string& explicit_path,
                          const std::string& relative,
                          const std::string& hint);

/// The run's integer model and its layer names.
struct Int8Model {
    std::string path;
    engine::Int8Network net;
    std::vector<std::string> names;
};

/// Loads `--model-file` or `<run-dir>/int8/model.h5`. @throws IoError / InputError.
Int8Model load_int8_model(const RunDir& run, const std::string& explicit_path);

/// A split of the run's dataset and the loader options that evaluate it (file order).
struct SplitData {
    io::ImageDataset set;
    io::BatchLoaderOptions opts;
};

/// The split `split` (test, val or train) with batches of `batch`. @throws ConfigError.
SplitData load_split(const RunDir& run, const std::string& split, int64_t batch);

/// The first `limit` images (0 = all) of `split` as integer inputs.
engine::Int8Inputs load_int8_inputs(const RunDir& run,
                                    const engine::Int8Network& net,
                                    const std::string& split,
                                    int64_t limit);

/// Per-layer histograms of the teacher's block outputs on `inputs` (forward with histograms).
std::vector<engine::CodeHistogram>
teacher_histograms(const engine::Int8Network& net, const engine::Int8Inputs& inputs, int threads);

/// Per-layer histograms of the codes stored in an int8 dump, read batch by batch.
/// @throws InputError for a float dump.
std::vector<engine::CodeHistogram> dump_histograms(const io::ActsReader& dump, int64_t batch);

/// Upper bounds of the analysis commands' --images, --batch and --threads.
inline constexpr int64_t kMaxImages = 1000000000;
inline constexpr int64_t kMaxBatch = 65536;
inline constexpr int kMaxThreads = 1024;

/// Checks `--batch` (1..kMaxBatch). @throws ConfigError.
void check_batch(int64_t batch);

/// Checks `--images` (0 = all, up to kMaxImages). @throws ConfigError.
void check_images(int64_t images);

} // namespace triseg::cli
