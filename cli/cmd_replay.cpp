// `triseg replay`.
#include "cli/cmd_replay.h"

#include <cstdio>
#include <filesystem>

#include "cli/analysis_common.h"
#include "common/error.h"
#include "common/progress.h"
#include "engine/analysis/replay.h"
#include "engine/int8/int8_network.h"
#include "engine/train/device.h"
#include "io/atomic_file.h"
#include "io/content_hash.h"
#include "io/h5_activations.h"
#include "io/result_file.h"
#include "io/stage_lock.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Offline analysis of an int8 activation dump (dump-acts --kind int8), without the\n"
    "dataset or the float model; needs only the dump and the integer model it names.\n"
    "(1) Per layer, what the codes (--codes result.json) do to the stored codes: fraction\n"
    "changed, fraction zeroed, code-space mean squared error, histograms before and after.\n"
    "(2) Suffix replay: each layer's stored codes, through that layer's table, fed into the\n"
    "integer network from the next op on, with the stored tensors that a skip connection\n"
    "carries across the layer (its live set; any graph model): KD loss (at --temperature)\n"
    "against the teacher, accuracy and drop, bit-identical to a full forward. Without\n"
    "--codes the replay is exact and reproduces the teacher. Prints a table and writes JSON\n"
    "(default <dump folder>/replay_<codes>.json).";
} // namespace

void add_replay_options(po::options_description& desc, ReplayArgs& args) {
    auto add = desc.add_options();
    add("acts", po::value(&args.acts)->value_name("FILE"), "int8 activation dump (required)");
    add("codes", po::value(&args.codes)->value_name("FILE"),
        "result.json with the codes of every layer, any valid tri-segment map (default: none, "
        "exact replay)");
    add("model,m", po::value(&args.model_file)->value_name("FILE"),
        "integer model (default: the file the dump's `model` attribute names)");
    add("model-file", po::value(&args.model_file)->value_name("FILE"),
        "the older spelling of --model (a model file in every command)");
    add("out,o", po::value(&args.out)->value_name("FILE"),
        "report JSON (default: <dump folder>/replay_<codes name | exact>.json)");
    add("temperature",
        in_range(args.temperature, "temperature", 0.01, 100.0)->value_name("T")->default_value(2.0),
        "T of the KD loss kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T^2");
    add("threads",
        in_range(args.threads, "threads", 0, kMaxThreads)->value_name("N")->default_value(0),
        "threads (0 = all cores)");
    add("batch",
        in_range<int64_t>(args.batch, "batch", 1, kMaxBatch)->value_name("N")->default_value(256),
        "images per read and replay");
}

int run_replay(const ReplayArgs& args) {
    TRISEG_CHECK(!args.acts.empty(), ConfigError, "--acts FILE is required");
    detail::check_range("--temperature", args.temperature, 0.01, 100.0);
    detail::check_range("--threads", args.threads, 0, kMaxThreads);
    check_batch(args.batch);
    const int threads = static_cast<int>(engine::configure_threads(args.threads));
    const io::ActsReader dump(args.acts);
    TRISEG_CHECK(dump.header().kind == io::ActsKind::Int8, InputError,
                 "activation dump '" << args.acts << "' holds float activations; replay needs an "
                                     << "int8 dump (triseg dump-acts --kind int8)");
    const std::string model_path = args.model_file.empty() ? dump.header().model : args.model_file;
    TRISEG_CHECK(io::file_exists(model_path), IoError,
                 "integer model '"
                     << model_path << "' does not exist"
                     << (args.model_file.empty() ? " (named by the dump; pass --model-file)" : ""));
    const std::string model_sha256 = io::sha256_file(model_path);
    TRISEG_CHECK(!dump.header().model_sha256.empty(), InputError,
                 "activation dump '" << args.acts
                                     << "' does not record the SHA-256 of its model (it was "
                                        "written by an older triseg), so replay cannot tell "
                                        "whether '"
                                     << model_path << "' is that model; re-create the dump with "
                                     << "`triseg dump-acts`");
    TRISEG_CHECK(dump.header().model_sha256 == model_sha256, InputError,
                 "activation dump '"
                     << args.acts << "' was made with another model than '" << model_path
                     << "' (SHA-256 " << dump.header().model_sha256.substr(0, 12) << "..., this "
                     << "file " << model_sha256.substr(0, 12)
                     << "...): replaying it would report the difference between two models as "
                        "the cost of the codes; pass the model the dump was made with, or "
                        "re-create the dump with `triseg dump-acts`");
    const engine::Int8Network net = engine::load_int8_network(model_path);
    engine::check_dump_matches(dump.header(), args.acts, net, model_path);
    engine::CodeSet codes;
    std::string name = "exact";
    if (!args.codes.empty()) {
        std::vector<std::string> names;
        names = net.layer_names();
        codes = io::read_result_file(args.codes, names).codes;
        name = std::filesystem::path(args.codes).stem().string();
    }
    const auto folder = std::filesystem::path(args.acts).parent_path();
    const std::string out =
        args.out.empty() ? (folder / ("replay_" + name + ".json")).string() : args.out;
    const io::StageLock lock(out, io::StageLock::Scope::File, "replay");
    ProgressBar bar("replay", dump.header().images * (net.num_layers() + 1), "img");
    const auto report = engine::replay_dump(dump, net, codes, args.temperature, threads, args.batch,
                                            [&](int64_t done, int64_t) { bar.update(done); });
    bar.finish();
    std::printf("%s", report.table().c_str());
    nlohmann::json j = report.to_json();
    j["acts"] = args.acts;
    j["model"] = model_path;
    j["codes_source"] = args.codes.empty() ? std::string("none (exact)") : args.codes;
    j["threads"] = threads;
    io::write_file_atomic(out, j.dump(2) + "\n");
    std::printf("wrote %s\n", out.c_str());
    return 0;
}

int main_replay(const std::vector<std::string>& argv) {
    return parse_and_run<ReplayArgs>("replay", kSummary, add_replay_options, run_replay, argv);
}

} // namespace triseg::cli
