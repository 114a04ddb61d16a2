// `triseg export-int8`.
#include "cli/cmd_export_int8.h"

#include <algorithm>
#include <cstdio>

#include "cli/run_dir.h"
#include "common/error.h"
#include "common/shell_quote.h"
#include "engine/train/int8_export.h"
#include "io/atomic_file.h"
#include "io/dataset_factory.h"
#include "io/h5_int8_model.h"
#include "io/stage_lock.h"
#include "models/checkpoint.h"
#include "models/graph_net.h"
#include "models/qat_vgg.h"

namespace triseg::cli {

namespace {
constexpr const char* kSummary =
    "Convert the run's QAT network (<run-dir>/qat/model.pt) to integer form and write it to\n"
    "HDF5 (<run-dir>/int8/model.h5): int8 weights with per-channel scales, int32 biases in\n"
    "accumulator units, per-layer input/output scale and zero point, fixed-point\n"
    "requantization multipliers, the input normalization and the model config. The schema\n"
    "and the exact inference arithmetic are in docs/int8-model.md.";
} // namespace

void add_export_int8_options(po::options_description& desc, ExportInt8Args& args) {
    add_config_options(desc, args.config);
    auto add = desc.add_options();
    add("checkpoint", po::value(&args.checkpoint)->value_name("FILE"),
        "QAT checkpoint to export (default: <run-dir>/qat/model.pt)");
    add("out,o", po::value(&args.out)->value_name("FILE"),
        "output HDF5 file (default: <run-dir>/int8/model.h5)");
}

int run_export_int8(const ExportInt8Args& args) {
    const RunDir run(args.config);
    const auto& cfg = run.config();
    const std::string checkpoint =
        args.checkpoint.empty() ? run.file("qat/model.pt") : args.checkpoint;
    TRISEG_CHECK(io::file_exists(checkpoint), IoError,
                 "QAT checkpoint '" << checkpoint << "' does not exist; run `triseg train-qat "
                                    << "--run-dir " << shell_quote(run.path()) << "` first");
    const std::string out = args.out.empty() ? run.file(RunDir::kInt8Model) : args.out;
    const io::StageLock lock(out, io::StageLock::Scope::File, "export-int8");
    auto qat = models::load_qat_net(checkpoint);
    qat->eval();
    const auto norm = io::resolve_normalization(cfg.data, qat->options().in_channels);
    const std::string provenance = "exported by triseg export-int8 from " + checkpoint;
    models::Int8Graph graph;
    if (auto* vgg = dynamic_cast<models::QatVggImpl*>(qat.get())) {
        const auto model = engine::export_int8(*vgg, norm.mean, norm.std, provenance);
        io::write_int8_model(model, out);
        graph = models::graph_from_chain(model);
    } else {
        graph = engine::export_int8_graph(dynamic_cast<models::QatGraphImpl&>(*qat), norm.mean,
                                          norm.std, provenance);
        io::write_int8_graph(graph, out);
    }

    std::printf("%-22s %11s %10s %4s %10s %4s %10s %10s\n", "conv", "shape", "in scale", "zp",
                "out scale", "zp", "w scale lo", "w scale hi");
    size_t convs = 0;
    for (const auto& op : graph.ops) {
        if (op.kind != models::Int8OpKind::Conv) {
            continue;
        }
        ++convs;
        const auto& in = graph.tensors[static_cast<size_t>(op.inputs[0])].quant;
        const auto& o = graph.tensors[static_cast<size_t>(op.output)].quant;
        const auto [lo, hi] = std::minmax_element(op.weight_scale.begin(), op.weight_scale.end());
        const std::string shape = std::to_string(op.in_channels) + "->" +
                                  std::to_string(op.out_channels) + (op.groups > 1 ? " dw" : "");
        std::printf("%-22s %11s %10.6f %4d %10.6f %4d %10.3g %10.3g\n", op.name.c_str(),
                    shape.c_str(), in.scale, in.zero_point, o.scale, o.zero_point, *lo, *hi);
    }
    std::printf("wrote %s (%zu ops: %zu convs, %zu approximation points)\n", out.c_str(),
                graph.ops.size(), convs, models::graph_points(graph).size());
    return 0;
}

int main_export_int8(const std::vector<std::string>& argv) {
    return parse_and_run<ExportInt8Args>("export-int8", kSummary, add_export_int8_options,
                                         run_export_int8, argv);
}

} // namespace triseg::cli
