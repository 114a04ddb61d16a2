// Checkpoint save/load with validation of format, kind and tensor shapes.
#include "models/checkpoint.h"

#include <map>

#include <torch/serialize.h>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/config.h"

namespace triseg::models {

namespace {

constexpr const char* kFormatKey = "triseg_format";
constexpr const char* kKindKey = "triseg_kind";
constexpr const char* kModelKey = "triseg_model_yaml";

std::string
read_string(torch::serialize::InputArchive& archive, const char* key, const std::string& source) {
    c10::IValue value;
    TRISEG_CHECK(archive.try_read(key, value) && value.isString(), InputError,
                 "'" << source << "' is not a triseg checkpoint (no '" << key
                     << "' entry); was it written by another tool?");
    return value.toStringRef();
}

std::string first_line(const std::string& s) {
    return s.substr(0, s.find('\n'));
}

} // namespace

void write_module(torch::nn::Module& module,
                  const VggOptions& options,
                  const std::string& kind,
                  torch::serialize::OutputArchive& archive) {
    archive.write(kFormatKey, c10::IValue(std::string(kCheckpointFormat)));
    archive.write(kKindKey, c10::IValue(kind));
    archive.write(kModelKey, c10::IValue(io::model_to_yaml(options)));
    module.save(archive);
}

VggOptions read_module_options(torch::serialize::InputArchive& archive,
                               const std::string& source,
                               const std::string& expected_kind) {
    const std::string format = read_string(archive, kFormatKey, source);
    TRISEG_CHECK(format == kCheckpointFormat, InputError,
                 "'" << source << "' has checkpoint format '" << format << "'; this triseg reads '"
                     << kCheckpointFormat << "'");
    const std::string kind = read_string(archive, kKindKey, source);
    TRISEG_CHECK(expected_kind.empty() || kind == expected_kind, InputError,
                 "'" << source << "' holds a " << kind << " model, but a " << expected_kind
                     << " model is needed here");
    return io::model_from_yaml(read_string(archive, kModelKey, source), source);
}

void read_module_state(torch::nn::Module& module,
                       torch::serialize::InputArchive& archive,
                       const std::string& source) {
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& item : module.named_parameters()) {
        shapes[item.key()] = item.value().sizes().vec();
    }
    for (const auto& item : module.named_buffers()) {
        shapes[item.key()] = item.value().sizes().vec();
    }
    try {
        module.load(archive);
    } catch (const c10::Error& e) {
        TRISEG_THROW(InputError, "'" << source << "' does not match its own model config ("
                                     << first_line(e.what_without_backtrace()) << ")");
    }
    // LibTorch replaces tensors without comparing shapes: check them here.
    auto check = [&](const std::string& key, const torch::Tensor& t) {
        TRISEG_CHECK(t.sizes().vec() == shapes.at(key), InputError,
                     "'" << source << "': tensor '" << key << "' has shape " << t.sizes()
                         << " but the model config needs " << c10::IntArrayRef(shapes.at(key)));
    };
    for (const auto& item : module.named_parameters()) {
        check(item.key(), item.value());
    }
    for (const auto& item : module.named_buffers()) {
        check(item.key(), item.value());
    }
}

void save_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
    io::AtomicPath out(path);
    try {
        archive.save_to(out.tmp());
    } catch (const c10::Error& e) {
        TRISEG_THROW(IoError, "cannot write checkpoint '"
                                  << path << "': " << first_line(e.what_without_backtrace()));
    }
    out.commit();
}

torch::serialize::InputArchive open_archive(const std::string& path) {
    TRISEG_CHECK(io::file_exists(path), IoError, "checkpoint '" << path << "' does not exist");
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path, torch::kCPU);
    } catch (const c10::Error& e) {
        TRISEG_THROW(InputError, "'" << path << "' is not a readable checkpoint (corrupt or "
                                     << "truncated?): " << first_line(e.what_without_backtrace()));
    }
    return archive;
}

void save_model(Vgg& model, const std::string& path) {
    torch::serialize::OutputArchive archive;
    write_module(*model, model->options(), kFloatKind, archive);
    save_archive(archive, path);
}

Vgg read_model(torch::serialize::InputArchive& archive, const std::string& source) {
    Vgg model(read_module_options(archive, source, kFloatKind));
    read_module_state(*model, archive, source);
    return model;
}

Vgg load_model(const std::string& path) {
    auto archive = open_archive(path);
    return read_model(archive, path);
}

void save_qat_model(QatVgg& model, const std::string& path) {
    torch::serialize::OutputArchive archive;
    write_module(*model, model->options(), kQatKind, archive);
    save_archive(archive, path);
}

QatVgg read_qat_model(torch::serialize::InputArchive& archive, const std::string& source) {
    QatVgg model(read_module_options(archive, source, kQatKind));
    read_module_state(*model, archive, source);
    return model;
}

QatVgg load_qat_model(const std::string& path) {
    auto archive = open_archive(path);
    return read_qat_model(archive, path);
}

} // namespace triseg::models
